# berth: build, lint and test.  `make help` lists the targets.
#
# `make test` is the one test command (CI runs it through .ci/run). It needs
# root on Debian 12 and installs what it lacks with scripts/install-deps.sh.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
# Steps of `make test` must run in order, even under -j.
.NOTPARALLEL:

GO       ?= go
VERSION  := $(shell cat VERSION)
COMMIT   := $(shell git rev-parse --verify -q --short HEAD 2>/dev/null || echo unknown)
BIN      := $(CURDIR)/bin/berth
TOOLS    := $(CURDIR)/.tools/bin
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION)

UNIT_DIRS        := libcontainer cmd
INTEGRATION_DIRS := tests/integration
GO_TEST_FLAGS    ?= -count=1

.PHONY: help
help: ## list the targets
	@awk -F':.*## ' '/^[a-z0-9-]+:.*## / { printf "  %-15s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# The binary links libcontainer/nsenter, a cgo constructor, statically: a
# dynamic loader costs every start of berth and of its init. musl rather
# than glibc: a static glibc spends about 0.3 ms per process start probing
# the CPU's caches (CPUID, a VM exit each on a virtual machine), musl none.
# netgo and osusergo keep the net and os/user packages free of libc.
STATIC_CC ?= musl-gcc
BUILD_TAGS := netgo,osusergo

.PHONY: build
build: ## build the static binary bin/berth
	@command -v $(STATIC_CC) >/dev/null || { echo "build: no $(STATIC_CC) (run scripts/install-deps.sh, or set STATIC_CC)" >&2; exit 1; }
	CGO_ENABLED=1 CC=$(STATIC_CC) $(GO) build -trimpath -tags $(BUILD_TAGS) \
		-ldflags "$(LDFLAGS) -linkmode external -extldflags -static" -o $(BIN) ./cmd/berth
	@case "$$(LC_ALL=C readelf -l $(BIN) 2>/dev/null)" in *"program interpreter"*) \
		echo "build: $(BIN) needs a dynamic loader; it must be static" >&2; exit 1 ;; esac

.PHONY: deps
deps: ## install the Debian packages the tests need (root; only what is missing)
	sh scripts/install-deps.sh

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint v2 (installed into .tools/bin on demand)
	$(GOLANGCI_LINT) config verify
	$(GOLANGCI_LINT) run ./...

# The linter is kept under a versioned name, so a version bump reinstalls it.
# An existing golangci-lint of the same version (PATH, GOPATH/bin) is reused.
$(GOLANGCI_LINT):
	@mkdir -p $(TOOLS)
	@want=$(GOLANGCI_LINT_VERSION); \
	for c in "$$(command -v golangci-lint || true)" "$$($(GO) env GOPATH)/bin/golangci-lint"; do \
		if [ -x "$$c" ] && [ "v$$("$$c" version --short 2>/dev/null)" = "$$want" ]; then \
			echo "lint: using $$c ($$want)"; ln -sf "$$c" $@; exit 0; \
		fi; \
	done; \
	echo "lint: installing golangci-lint $$want into $(TOOLS)"; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	GOBIN=$$tmp $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$$want; \
	mv "$$tmp/golangci-lint" $@

.PHONY: fmt
fmt: $(GOLANGCI_LINT) ## rewrite the code with gofumpt and goimports
	$(GOLANGCI_LINT) fmt ./...

.PHONY: unit
unit: ## unit tests of the library and the CLI
	@pkgs="$(call pkgs_of,$(UNIT_DIRS))"; \
	[ -z "$$pkgs" ] || { set -x; $(GO) test $(GO_TEST_FLAGS) $$pkgs; }

# Every go test -fuzz target of the module (found, not listed), each for
# FUZZTIME; a finding fails the step and is kept in the package's
# testdata/fuzz as a regression seed.
FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (10s)
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash tests/fuzz/run.sh

.PHONY: integration
integration: build ## end-to-end tests that drive bin/berth (root)
	@pkgs="$(call pkgs_of,$(INTEGRATION_DIRS))"; \
	[ -z "$$pkgs" ] || { set -x; BERTH_BINARY=$(BIN) $(GO) test $(GO_TEST_FLAGS) -p 1 -timeout 20m $$pkgs; }

.PHONY: integration-v2
integration-v2: build ## the integration and cgroup tests again, in a pure cgroup v2 qemu VM (root)
	BERTH_BINARY=$(BIN) GO=$(GO) bash tests/v2vm/run-integration.sh

.PHONY: oci
oci: build ## OCI runtime-tools validation; fails only if an expected-pass program fails
	RUNTIME=$(BIN) bash tests/oci/run.sh --gate

.PHONY: test
test: deps build lint unit fuzz integration integration-v2 oci clients ## everything CI runs, in order

# podman, containerd and Docker driving bin/berth, each with private daemons
# and state (tests/clients/README.md). Their packages are installed when
# missing, with every service start denied: no system-wide daemon runs.
.PHONY: clients
clients: build ## podman, containerd and Docker scenarios on bin/berth (root)
	sh scripts/install-deps.sh --clients
	RUNTIME=$(BIN) bash tests/clients/run.sh

.PHONY: demo
demo: deps build ## run a busybox container with bin/berth (root)
	BERTH=$(BIN) bash scripts/demo.sh

.PHONY: bench
bench: build ## compare bin/berth with Debian's runc and crun (root)
	sh scripts/install-deps.sh --bench
	BERTH=$(BIN) bash tests/bench/run.sh

.PHONY: clean
clean: ## remove build outputs and test results
	rm -rf bin tests/oci/results

# pkgs_of: the ./DIR/... patterns of the DIRs that exist. A test step whose
# directory does not exist yet says so loudly and skips it, rather than
# failing a tree that is still being laid out; every other error fails.
pkgs_of = $(foreach d,$(1),$(if $(wildcard $(d)/.),./$(d)/...,$(warning WARNING: $(d)/ does not exist yet: its tests are SKIPPED)))
