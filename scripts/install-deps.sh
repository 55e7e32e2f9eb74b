#!/bin/sh
# install-deps.sh - install the Debian packages that berth's tests need, as
# root on Debian 12. Installs only what is missing (dpkg-query), so a second
# run is quick and silent apart from one line.
#
# Usage: scripts/install-deps.sh [--bench] [--clients]
#   --bench   also what `make bench` needs: runc and crun to compare with,
#             hyperfine, and GNU time for peak RSS.
#   --clients also the real clients of `make clients` (tests/clients):
#             podman and conmon, containerd (with its shim) and umoci, and
#             Docker. None of their daemons is started (see policy-rc.d
#             below); the tests start private ones.
set -eu

# busybox-static: rootfs of the test, demo and bench bundles; jq: configs and
# the OCI runner; iproute2: network namespace checks; util-linux: unshare,
# setsid, flock, mount; procps: ps and pgrep in tests; gcc, make, git: the build;
# musl-tools: musl-gcc and musl's libc.a, to link the cgo bootstrap
# (libcontainer/nsenter) statically (see the Makefile's build target).
# qemu-system-x86, qemu-system-data, linux-image-amd64, cpio, xz-utils: the
# throw-away cgroup v2 VM of `make integration-v2` (tests/v2vm), which boots
# Debian's own kernel under qemu and builds its initramfs with cpio.
# libseccomp-dev (and pkg-config, which libseccomp-golang's cgo asks for
# it): the seccomp differential test (libcontainer/internal/seccomp)
# compiles every profile with libseccomp too; berth itself does not link it.
pkgs="busybox-static jq iproute2 util-linux procps gcc make git musl-tools"
pkgs="$pkgs qemu-system-x86 qemu-system-data linux-image-amd64 cpio xz-utils"
pkgs="$pkgs libseccomp-dev pkg-config"
for arg in "$@"; do
	case $arg in
	--bench) pkgs="$pkgs runc crun hyperfine time" ;;
	--clients) pkgs="$pkgs podman conmon containerd umoci docker.io" ;;
	*) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
	esac
done

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all present ($pkgs)"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "install-deps: missing$missing; run as root to install" >&2; exit 1; }
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Install, never start: without a policy-rc.d of the host's own, a temporary
# one denies every service start (exit 101) until apt-get is done.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	printf '#!/bin/sh\n# installed by berth scripts/install-deps.sh while it runs\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi
apt-get update -qq
# shellcheck disable=SC2086 # a word list of package names
apt-get install -y -qq --no-install-recommends $missing >/dev/null
