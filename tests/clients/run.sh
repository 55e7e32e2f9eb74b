#!/bin/bash
# Runs the real-client scenarios (podman + conmon, containerd + ctr, Docker) against berth.
#
# Usage: tests/clients/run.sh [podman] [containerd] [docker]   (default: all three)
#
# Environment:
#   RUNTIME       absolute path of the runtime under test (default: bin/berth of this repository)
#   CLIENTS_DIR   parent of the private state dirs (default /var/tmp/berth-clients.<pid>); removed
#   STEP_TIMEOUT  seconds per client command (default 60)
#   KEEP=1        keep the state dirs (debugging)
#
# Each client runs in its own script with its own private store/daemons (own root, state, socket,
# cgroup parent /berth-clients-<client>-<pid>), no network but loopback, and a busybox image built
# from Debian's busybox-static. A client whose packages are missing is skipped with the reason.
#
# Every client runs in a private mount namespace. There, any cgroup v1 hierarchy that exists in
# the kernel (listed in /proc/self/cgroup) but is mounted nowhere is mounted below the state dir:
# containerd's shim (containerd/cgroups v1 Load) fails to load a container's cgroups when one
# of the container's hierarchies has no mount, and then reports neither OOM events nor metrics.
# The host's mount table is not changed; the mounts go away with the namespace.
#
# Exit status: 0 if nothing failed (skips allowed), 1 if a scenario failed, 2 on usage error.

set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

RUNTIME=${RUNTIME:-$repo/bin/berth}
case $RUNTIME in /*) ;; *) echo "RUNTIME must be an absolute path" >&2; exit 2 ;; esac
[ -x "$RUNTIME" ] || { echo "no runtime at $RUNTIME (make build)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "# SKIP all clients: needs root"; exit 0; }
export RUNTIME STEP_TIMEOUT=${STEP_TIMEOUT:-60}

clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(podman containerd docker)
for c in "${clients[@]}"; do
  case $c in podman | containerd | docker) ;; *) echo "unknown client $c" >&2; exit 2 ;; esac
done

TOP=${CLIENTS_DIR:-/var/tmp/berth-clients.$$}
mkdir -p "$TOP" || exit 2
TOP=$(cd "$TOP" && pwd)
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf --one-file-system "$TOP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The body run inside the private mount namespace: mount the unmounted hierarchies, then run
# the client script. $1 = hierarchy mount dir, $2 = client script.
inner='
set -u
mnt=$1; shift
mounted=$(awk '"'"'{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup") print "," $NF ","; break } }'"'"' /proc/self/mountinfo)
while IFS=: read -r id ctrls _; do
  [ "$id" != 0 ] && [ -n "$ctrls" ] || continue
  hit=0
  for m in $mounted; do
    all=1
    for w in ${ctrls//,/ }; do case $m in *",$w,"*) ;; *) all=0 ;; esac; done
    [ $all = 1 ] && { hit=1; break; }
  done
  [ $hit = 1 ] && continue
  opts=$ctrls; case $ctrls in name=*) opts=none,$ctrls ;; esac
  mkdir -p "$mnt/$ctrls" && mount -t cgroup -o "$opts" cgroup "$mnt/$ctrls" &&
    echo "# mounted the unmounted cgroup v1 hierarchy $ctrls in a private mount namespace"
done < /proc/self/cgroup
exec bash "$@"
'

failed=0
for c in "${clients[@]}"; do
  echo "## $c"
  mkdir -p "$TOP/cgmnt-$c"
  if command -v unshare >/dev/null; then
    unshare -m --propagation private bash -c "$inner" inner "$TOP/cgmnt-$c" "$here/$c.sh" "$TOP/$c"
  else
    bash "$here/$c.sh" "$TOP/$c"
  fi
  rc=$?
  case $rc in
    0) ;;
    77) ;;
    *) failed=1 ;;
  esac
done
exit $failed
