#!/usr/bin/env bash
# demo.sh - run one busybox container with berth and show that it is one:
# its own hostname, PID 1, and its own namespaces. Run as root (`make demo`
# installs the packages and builds bin/berth first).
#
# Environment: BERTH   the runtime binary (default: <repo>/bin/berth)
# Leaves nothing behind: the bundle, the state dir and the cgroups it made.
set -euo pipefail

die() { echo "demo: $*" >&2; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BERTH=${BERTH:-$REPO/bin/berth}
[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$BERTH" ] || die "no runtime at $BERTH (make build)"

ID=berth-demo-$$
CG_PARENT=berth-demo
TMP=$(mktemp -d /tmp/berth-demo.XXXXXX)
STATE=$TMP/state

cleanup() {
	set +e
	if "$BERTH" --root "$STATE" state "$ID" >/dev/null 2>&1; then
		"$BERTH" --root "$STATE" delete --force "$ID" >/dev/null 2>&1
	fi
	# Only the cgroups this demo asked for: /berth-demo/<id>, then the
	# parent /berth-demo where it is empty, in every hierarchy (v1 and v2).
	local h
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		if [ ! -d "$h/$CG_PARENT" ] || [ -L "$h" ]; then continue; fi
		rmdir "$h/$CG_PARENT/$ID" 2>/dev/null
		rmdir "$h/$CG_PARENT" 2>/dev/null
	done
	# A mount left in the bundle must never lead rm into another filesystem.
	awk -v d="$TMP" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# What the container runs: its hostname, its PID, and where each of its
# namespace links points (compare with the host's, printed below).
# shellcheck disable=SC2016 # expanded inside the container, not here
SCRIPT='echo "hostname: $(hostname)"
echo "pid: $$"
echo "namespaces:"
for ns in /proc/self/ns/*; do echo "  ${ns##*/} -> $(readlink "$ns")"; done'

bash "$REPO/scripts/mkbundle.sh" --spec-from "$BERTH" --cgroups-path "/$CG_PARENT/$ID" --hostname berth-demo \
	"$TMP/bundle" /bin/sh -c "$SCRIPT" >/dev/null

echo "demo: $BERTH --root $STATE run --bundle $TMP/bundle $ID"
echo "---- inside the container ----"
set +e
"$BERTH" --root "$STATE" run --bundle "$TMP/bundle" "$ID" </dev/null | tee "$TMP/out"
rc=${PIPESTATUS[0]}
set -e
echo "---- on the host, for comparison ----"
echo "hostname: $(hostname)"
echo "namespaces:"
for ns in /proc/self/ns/*; do echo "  ${ns##*/} -> $(readlink "$ns")"; done

[ "$rc" = 0 ] || die "the container exited with status $rc"
grep -qx 'hostname: berth-demo' "$TMP/out" || die "the container did not report hostname berth-demo"
grep -qx 'pid: 1' "$TMP/out" || die "the container's shell is not PID 1"
for ns in pid mnt uts ipc net; do
	inside=$(awk -v n="$ns" '$1 == n { print $3 }' "$TMP/out")
	[ -n "$inside" ] || die "the container printed no $ns namespace"
	[ "$inside" != "$(readlink "/proc/self/ns/$ns")" ] || die "the container shares the host's $ns namespace"
done
echo "demo: OK (own hostname, PID 1, own pid/mnt/uts/ipc/net namespaces)"
