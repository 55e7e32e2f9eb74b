#!/usr/bin/env bash
# run-integration.sh - run berth's tests on a pure cgroup v2 host: a qemu
# guest booted by v2vm.sh (next to this script). This is `make
# integration-v2`; it needs root and bin/berth (`make build`).
#
# It builds the test binaries with `go test -c`, stages them in a temporary
# directory and boots one VM per suite:
#   integration  tests/integration, driving a copy of bin/berth
#   unit         the packages of V2VM_UNIT_PKGS (./libcontainer and
#                ./libcontainer/cgroups), each run from a copy of its package
#                directory so that testdata/ is found
# Test output streams to stdout as the guest produces it; a summary of
# failed and skipped tests follows.
#
# Usage: tests/v2vm/run-integration.sh
# Environment:
#   BERTH_BINARY    berth to test (default bin/berth of this repository)
#   GO              go command (go)
#   V2VM_SUITES     which suites to run ("integration unit")
#   V2VM_UNIT_PKGS  packages of the unit suite ("./libcontainer ./libcontainer/cgroups")
#   V2VM_TIMEOUT    wall-clock limit of each VM in seconds (900); go test's
#                   own timeout is one minute less, so a hang dumps goroutines
#   V2VM_RUN        only run the integration tests matching this -test.run regexp
#   V2VM_*          the other knobs of v2vm.sh (V2VM_MEM, V2VM_CPUS, V2VM_DEBUG...)
#
# Exit status: 0 when every suite passed; otherwise the first failing
# suite's status (124: a VM timed out; 125: a VM failed to boot or run).
# The one case that is skipped with status 0 is a host that cannot run qemu
# at all (no /dev, or no qemu-system-x86_64 even after scripts/install-deps.sh);
# it prints "integration-v2: SKIPPED: <reason>".
set -euo pipefail

here=.
[[ $0 != */* ]] || here=${0%/*}
here=$(cd "$here" && pwd)
repo=$(cd "$here/../.." && pwd)
GO=${GO:-go}
berth=${BERTH_BINARY:-$repo/bin/berth}
suites=${V2VM_SUITES:-integration unit}
unit_pkgs=${V2VM_UNIT_PKGS:-./libcontainer ./libcontainer/cgroups}
vm_timeout=${V2VM_TIMEOUT:-900}
export V2VM_TIMEOUT=$vm_timeout

say() { echo "integration-v2: $*"; }
skip() {
	say "SKIPPED: $*"
	exit 0
}

[[ -d /dev && -c /dev/null ]] || skip "this host has no usable /dev, so qemu cannot run"
command -v qemu-system-x86_64 >/dev/null ||
	skip "qemu-system-x86_64 is not installed (scripts/install-deps.sh installs qemu-system-x86)"
[[ $(id -u) == 0 ]] || { say "must run as root" >&2; exit 1; }
[[ -x $berth ]] || { say "no berth binary at $berth (run make build)" >&2; exit 1; }
((vm_timeout > 120)) || { say "V2VM_TIMEOUT=$vm_timeout is too short" >&2; exit 1; }
go_timeout="$((vm_timeout - 60))s"

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-v2vm.XXXXXX")
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# build writes the test binary of package $1 to $2, linked statically as
# the Makefile links bin/berth (cgo against musl, for the nsenter bootstrap
# that exec needs), so the guest needs no shared libraries.
build() {
	say "building $1"
	(cd "$repo" && CGO_ENABLED=1 CC="${STATIC_CC:-musl-gcc}" "$GO" test -c -tags netgo,osusergo \
		-ldflags "-linkmode external -extldflags -static" -o "$2" "$1")
	[[ -x $2 ]] || { say "package $1 has no tests" >&2; return 1; }
}

# stage_pkg copies the files of package directory $1 (not its subpackages,
# but testdata/) to $2.
stage_pkg() {
	mkdir -p "$2"
	find "$repo/$1" -maxdepth 1 -type f -exec cp {} "$2/" \;
	[[ ! -d $repo/$1/testdata ]] || cp -a "$repo/$1/testdata" "$2/"
}

# run_vm SUITE DIR TESTS... boots a VM with DIR at /mnt/host and runs guest.sh
# on the TESTS (paths relative to DIR); the output is kept in $work/SUITE.log.
run_vm() {
	local suite=$1 dir=$2 rc
	shift 2
	cp "$here/guest.sh" "$dir/guest.sh"
	say "running the $suite suite in a cgroup v2 VM (limit ${vm_timeout}s)"
	local start=$SECONDS
	set +e
	"$here/v2vm.sh" "${vm_env[@]}" "$dir" -- sh ./guest.sh "$go_timeout" "$@" 2>&1 | tee "$work/$suite.log"
	rc=${PIPESTATUS[0]}
	set -e
	times+=("$suite $((SECONDS - start))s")
	# A suite that skipped itself wholesale did not test anything.
	if ((rc == 0)) && grep -q '^integration tests skipped:' "$work/$suite.log"; then
		say "the $suite suite skipped itself in the VM; that is a failure here" >&2
		rc=1
	fi
	if ((rc == 0)) && ! grep -q -- '--- PASS' "$work/$suite.log"; then
		say "the $suite suite passed no test at all; that is a failure here" >&2
		rc=1
	fi
	results+=("$suite:$rc")
	((rc == 0)) || ((status != 0)) || status=$rc
}

summary() {
	local r suite rc
	echo
	say "summary (cgroup v2 VM)"
	for r in "${results[@]}"; do
		suite=${r%%:*} rc=${r#*:}
		case $rc in
		0) say "  $suite: PASS" ;;
		124) say "  $suite: FAIL (VM timed out after ${vm_timeout}s)" ;;
		125) say "  $suite: FAIL (the VM failed; see the console above)" ;;
		*) say "  $suite: FAIL (exit $rc)" ;;
		esac
		grep -E '^ *--- FAIL' "$work/$suite.log" | sed 's/^/integration-v2:     /' || true
		local n
		n=$(grep -cE '^ *--- SKIP' "$work/$suite.log" || true)
		((n == 0)) || say "    $n skipped (--- SKIP lines above say why)"
	done
	say "  wall time: ${times[*]}"
}

status=0
results=()
times=()
for suite in $suites; do
	case $suite in
	integration)
		d=$work/integration
		mkdir -p "$d"
		build ./tests/integration "$d/integration.test"
		cp "$berth" "$d/berth"
		vm_env=()
		[[ -z ${V2VM_RUN:-} ]] || vm_env=(--env "TEST_RUN=$V2VM_RUN")
		run_vm integration "$d" integration.test
		;;
	unit)
		d=$work/unit
		vm_env=()
		tests=()
		for p in $unit_pkgs; do
			p=${p#./}
			name=${p//\//_}
			stage_pkg "$p" "$d/$name"
			build "./$p" "$d/$name/$name.test"
			tests+=("$name/$name.test")
		done
		run_vm unit "$d" "${tests[@]}"
		;;
	*)
		say "unknown suite $suite in V2VM_SUITES" >&2
		exit 2
		;;
	esac
done
summary
exit "$status"
