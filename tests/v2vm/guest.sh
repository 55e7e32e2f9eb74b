#!/bin/sh
# guest.sh - runs inside the v2vm guest (busybox sh, cwd /mnt/host): checks
# that the guest really is a pure cgroup v2 host with a usable /tmp, then runs
# each test binary named on the command line from its own directory.
#
# Usage: guest.sh TIMEOUT DIR/BIN [DIR/BIN...]
#   TIMEOUT  go test timeout for each binary (e.g. 14m)
#   DIR/BIN  a `go test -c` binary below /mnt/host; it runs with DIR as cwd,
#            so a copy of the package's testdata/ can sit next to it
# BERTH_BINARY is exported as /mnt/host/berth when that file exists; a
# non-empty TEST_RUN becomes every binary's -test.run.
# Exit status: 0 if every binary passed, else the first failing status;
# 3 when the guest is not what the tests need.
timeout=$1
shift

bad() {
	echo "v2vm guest: $*"
	exit 3
}

# A pure v2 host: cgroup2 at /sys/fs/cgroup and no v1 hierarchy anywhere.
[ -f /sys/fs/cgroup/cgroup.controllers ] || bad "/sys/fs/cgroup is not cgroup2"
if awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup") exit 0; break } } END { exit 1 }' /proc/self/mountinfo; then
	bad "a cgroup v1 hierarchy is mounted"
fi
grep -q ' - tmpfs ' /proc/self/mountinfo || bad "no tmpfs mounted"
awk '$5 == "/tmp" { found = 1 } END { exit !found }' /proc/self/mountinfo || bad "/tmp is not a mount"
probe=$(mktemp -d) || bad "/tmp is not writable"
rmdir "$probe"
command -v busybox >/dev/null || bad "no busybox in PATH"
[ "$(id -u)" = 0 ] || bad "not root"

echo "v2vm guest: kernel $(uname -r), cgroup2 controllers [$(cat /sys/fs/cgroup/cgroup.subtree_control)]," \
	"/tmp $(df -h /tmp | awk 'NR == 2 { print $2 }') tmpfs, $(nproc) cpus, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB"

[ -f /mnt/host/berth ] && export BERTH_BINARY=/mnt/host/berth
rc=0
for t in "$@"; do
	dir=/mnt/host/$(dirname "$t")
	bin=$(basename "$t")
	echo "v2vm guest: === $t"
	start=$(cut -d' ' -f1 /proc/uptime)
	if [ -n "${TEST_RUN:-}" ]; then
		(cd "$dir" && "./$bin" -test.v -test.count=1 -test.timeout="$timeout" -test.run "$TEST_RUN")
	else
		(cd "$dir" && "./$bin" -test.v -test.count=1 -test.timeout="$timeout")
	fi
	r=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "v2vm guest: === $t exit $r after $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')s"
	[ "$r" = 0 ] || [ "$rc" != 0 ] || rc=$r
done
exit "$rc"
