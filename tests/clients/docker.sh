#!/bin/bash
# Docker (dockerd 20.10 -> a private containerd -> containerd-shim-runc-v2) driving the runtime
# under test, registered with --add-runtime as the default runtime, offline. Run by run.sh, or
# alone:  RUNTIME=/abs/path/berth tests/clients/docker.sh [STATE_DIR]
#
# Everything is private: a containerd started here (own root/state/socket), a dockerd with its
# own --data-root/--exec-root/--pidfile/-H socket/--config-file/key path, no network setup
# (--bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false
# --userland-proxy=false; containers use --network none), cgroupfs driver with cgroup parent
# /berth-clients-docker-<pid>. At exit every container, daemon, shim, mount, the cgroup parent in
# every hierarchy and STATE_DIR (default /var/tmp/berth-clients/docker.<pid>) are removed; the
# clean_* scenarios check that nothing was left behind. Needs docker.io (install it with a
# policy-rc.d that denies service start), containerd, busybox-static, jq, util-linux; skips
# without them. checkpoint/restore uses the first criu on PATH.
# Output as podman.sh. Exit status 0, 1 (a scenario failed), 2 (setup), 77 (skipped).

set -u
export LC_ALL=C
. "$(dirname "$0")/lib.sh" || exit 2

need_runtime
CLIENT_PKGS="docker.io containerd busybox-static jq util-linux coreutils"
need_bins dockerd containerd ctr containerd-shim-runc-v2 mountpoint timeout script jq sha256sum busybox
# Default client: the `docker` on PATH whose version equals dockerd's (Debian's docker.io ships
# /usr/bin/docker 20.10; a newer CLI elsewhere on PATH would negotiate an older API version).
if [ -z "${DOCKER_CLI:-}" ]; then
  dv=$(dockerd --version 2>/dev/null | awk '{print $3}')
  for c in $(type -aP docker); do
    [ "$("$c" --version 2>/dev/null | awk '{print $3}')" = "$dv" ] && { DOCKER_CLI=$c; break; }
  done
fi
DOCKER=${DOCKER_CLI:-$(command -v docker)}
[ -n "$DOCKER" ] && [ -x "$DOCKER" ] || skip_all "missing: the docker CLI of dockerd's version"

STEP_TIMEOUT=${STEP_TIMEOUT:-60}
BASE=${1:-/var/tmp/berth-clients/docker.$$}
DRIVER=${STORAGE_DRIVER:-overlay2}
CGNAME=berth-clients-docker-$$
IMG=berth-clients-busybox:latest
RTNAME=testrt
PASS=0
FAIL=0
CTRD_PID=
DOCKERD_PID=
EVENTS_PID=

mkdir -p "$BASE"/{data,exec,ctrd-root,ctrd-state,ctrd-opt,bin,work,cli,tmp} || exit 2
BASE=$(cd "$BASE" && pwd)
cd "$BASE" || exit 2
W=$BASE/work
SOCK=$BASE/docker.sock
CSOCK=$BASE/containerd.sock
export DOCKER_CONFIG=$BASE/cli       # the CLI's config dir (~/.docker otherwise)
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

# What exists before we start, to tell afterwards what this run left behind.
CG_TOP_BEFORE=$(ls -A /sys/fs/cgroup 2>/dev/null | tr '\n' ' ')
# dockerd 20.10 hard-codes its plugin exec root /run/docker/plugins (socket path length); it is
# created empty even with --exec-root. Removed at exit if this run created it (and it is empty).
RUN_DOCKER_EXISTED=0; [ -e /run/docker ] && RUN_DOCKER_EXISTED=1
SHIM_SOCK_DIR=/run/containerd/s

# ---------------------------------------------------------------- runtime wrapper
WRAP=$BASE/bin/$(basename "$RUNTIME")
write_wrapper "$WRAP" docker || exit 2

# ---------------------------------------------------------------- daemon configs
cat > "$BASE/containerd.toml" <<EOF
version = 2
root = "$BASE/ctrd-root"
state = "$BASE/ctrd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CSOCK"
[ttrpc]
  address = "$CSOCK.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$BASE/ctrd-opt"
EOF
# trust key: by default dockerd 20.10 creates /etc/docker/key.json; keep it private (config-file only)
printf '{"deprecated-key-path": "%s"}\n' "$BASE/key.json" > "$BASE/daemon.json"

d() {  # docker CLI against the private daemon, bounded time
  timeout -k 5 "$STEP_TIMEOUT" "$DOCKER" -H "unix://$SOCK" "$@"
}
dq() { d "$@" >/dev/null 2>&1; }
DTTY="$DOCKER -H unix://$SOCK"

# Top-level entries of /sys/fs/cgroup (a tmpfs) that did not exist before this run, are not
# mount points, and hold our cgroup parent: plain dirs created by a mkdir -p of our cgroup path.
new_cg_topdirs() {
  local e
  for e in /sys/fs/cgroup/* /sys/fs/cgroup/.[!.]*; do
    [ -e "$e" ] || continue
    e=${e#/sys/fs/cgroup/}
    case " $CG_TOP_BEFORE " in *" $e "*) continue ;; esac
    mountpoint -q "/sys/fs/cgroup/$e" && continue
    [ -d "/sys/fs/cgroup/$e/$CGNAME" ] && echo "$e"
  done
}
# Shim sockets (containerd 1.6: /run/containerd/s/sha256(<containerd address>/<ns>/<id>)) of the
# containers this run created (ids recorded by the `docker events` follower).
our_shim_sockets() {
  local id h
  for id in $(sort -u "$W/created-ids" 2>/dev/null); do
    h=$(printf '%s' "$CSOCK/moby/$id" | sha256sum | cut -d' ' -f1)
    [ -e "$SHIM_SOCK_DIR/$h" ] && echo "$SHIM_SOCK_DIR/$h"
  done
}

stop_daemons() {
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    local ids; ids=$(d ps -aq 2>/dev/null)
    [ -n "$ids" ] && d rm -f $ids >/dev/null 2>&1
    kill "$DOCKERD_PID" 2>/dev/null
    wait_gone "$DOCKERD_PID" 200 || kill -9 "$DOCKERD_PID" 2>/dev/null
  fi
  [ -n "$EVENTS_PID" ] && kill $EVENTS_PID 2>/dev/null
  if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
    local t
    for t in $(timeout 10 ctr --address "$CSOCK" -n moby task ls -q 2>/dev/null); do
      timeout 10 ctr --address "$CSOCK" -n moby task kill -s SIGKILL "$t" >/dev/null 2>&1
      sleep 0.2; timeout 10 ctr --address "$CSOCK" -n moby task rm -f "$t" >/dev/null 2>&1
    done
    kill "$CTRD_PID" 2>/dev/null
    wait_gone "$CTRD_PID" 100 || kill -9 "$CTRD_PID" 2>/dev/null
  fi
  # shims this run caused to start (recorded in our private containerd state dir)
  kill_shims "$BASE/ctrd-state"
}

cleanup() {
  stop_daemons
  local s
  for s in $(our_shim_sockets); do rm -f "$s"; done
  unmount_below "$BASE"
  local e; e=$(new_cg_topdirs)
  rm_cgroup_tree "$CGNAME"
  for s in $e; do rmdir "/sys/fs/cgroup/$s" 2>/dev/null; done
  [ $RUN_DOCKER_EXISTED = 1 ] || rmdir /run/docker/plugins /run/docker 2>/dev/null
  [ "${KEEP:-0}" = 1 ] || rm -rf --one-file-system "$BASE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
cli() { d "$@"; }
cli_rm() { dq rm -f "$@"; }
RUN=(run --network none)
CLI_LINE=$DTTY
. "$(dirname "$0")/dockercli.sh" || exit 2

# ---------------------------------------------------------------- daemons and image
t_containerd() {
  # TMPDIR: the shim's temp files (runc-process*.json, pty sockets, checkpoint images; containerd
  # 1.6 never removes the ctrd-checkpoint* dir of a restore) stay in the state dir.
  TMPDIR=$BASE/tmp containerd --config "$BASE/containerd.toml" --log-level info > "$BASE/containerd.log" 2>&1 &
  echo $! > "$BASE/containerd.pid"
  wait_containerd "$CSOCK"
}
t_dockerd() {
  TMPDIR=$BASE/tmp dockerd --data-root "$BASE/data" --exec-root "$BASE/exec" --pidfile "$BASE/dockerd.pid" \
    -H "unix://$SOCK" --containerd "$CSOCK" --config-file "$BASE/daemon.json" \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false --storage-driver "$DRIVER" \
    --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$CGNAME" \
    --add-runtime "$RTNAME=$WRAP" --default-runtime "$RTNAME" --experimental \
    --log-level info > "$BASE/dockerd.log" 2>&1 &
  echo $! > "$BASE/dockerd.pid0"
  local i=0
  while [ $i -lt 300 ]; do
    [ -S "$SOCK" ] && timeout 5 "$DOCKER" -H "unix://$SOCK" version >/dev/null 2>&1 && break
    kill -0 "$(cat "$BASE/dockerd.pid0")" 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
  done
  d version >/dev/null 2>&1 || { echo "dockerd did not come up: $(grep -v '^$' "$BASE/dockerd.log" | tail -n 2)"; return 1; }
  local rt; rt=$(d info -f '{{.DefaultRuntime}} {{.CgroupDriver}} {{.Driver}}')
  expect_eq "$rt" "$RTNAME cgroupfs $DRIVER"
}
t_events_start() {
  timeout -k 5 3600 "$DOCKER" -H "unix://$SOCK" events --filter type=container --filter event=create \
    --format '{{.ID}}' > "$W/created-ids" 2>/dev/null &
  echo $! > "$W/events.pid"
  timeout -k 5 3600 "$DOCKER" -H "unix://$SOCK" events --filter type=container \
    --format '{{.Status}} {{.Actor.Attributes.name}}' > "$W/events.log" 2>/dev/null &
  echo $! >> "$W/events.pid"
}
t_image() {
  local r=$W/rootfs
  build_rootfs "$r" || return 1
  tar -C "$r" -cf "$W/rootfs.tar" . || return 1
  d import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$W/rootfs.tar" "$IMG" >/dev/null || return 1
  d image inspect "$IMG" >/dev/null || { echo "image not present after import"; return 1; }
}

# ---------------------------------------------------------------- checks
t_runtime_used() {  # the container really ran under our runtime (wrapper saw create/start for it)
  d "${RUN[@]}" --name rtu "$IMG" true >/dev/null || return 1
  local r id; r=$(d inspect -f '{{.HostConfig.Runtime}}' rtu); id=$(d inspect -f '{{.Id}}' rtu); dq rm -f rtu
  expect_eq "$r" "$RTNAME" || return 1
  grep -q " create .* $id\$" "$W/argv.log" && grep -q " start $id\$" "$W/argv.log" ||
    { echo "no runtime create/start for $id in the wrapper's log"; return 1; }
}
t_missing_command() {  # dockerd maps the runtime's error text to 127 and shows it to the user
  local o rc; o=$(d "${RUN[@]}" --rm "$IMG" /bin/no-such-program 2>&1); rc=$?
  expect_eq "$rc" 127 || { echo "$o"; return 1; }
  case $o in *no-such-program*"not found"* | *no-such-program*"no such file"*) ;; *) echo "error text: $o"; return 1 ;; esac
}
t_run_tty() {
  local o; o=$(tty_run "$DTTY run --network none --rm -t $IMG sh -c 'test -t 0 && test -t 1 && echo TTY-YES; stty size'")
  case $o in *TTY-YES*) ;; *) echo "no tty in run -t: $o"; return 1 ;; esac
}
t_run_tty_stdin() {  # -it: input typed on the terminal reaches the container
  local o; o=$(timeout -k 5 "$STEP_TIMEOUT" script -qefc "$DTTY run --network none --rm -it $IMG sh -c 'read l; echo GOT-\$l'" /dev/null < <(sleep 2; echo typed-line; sleep 2))
  case $o in *GOT-typed-line*) ;; *) echo "tty input not seen: $(printf '%s' "$o" | tr -d '\r' | tail -n 2)"; return 1 ;; esac
}
t_read_only() {  # docker --read-only does not add a writable /tmp (podman does): add one with --tmpfs
  d "${RUN[@]}" --rm --read-only "$IMG" sh -c 'touch /rootfile 2>/dev/null' && { echo "rootfs writable with --read-only"; return 1; }
  d "${RUN[@]}" --rm --read-only --tmpfs /tmp "$IMG" sh -c 'touch /tmp/ok' || { echo "--tmpfs /tmp not writable with --read-only"; return 1; }
}
t_seccomp_profile() {
  need_feature seccomp || return 77
  cat > "$W/seccomp.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_AARCH64"],
 "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
EOF
  local o
  o=$(d "${RUN[@]}" --rm --security-opt seccomp="$W/seccomp.json" "$IMG" sh -c 'mkdir /tmp/d 2>&1; echo rc=$?')
  case $o in *rc=0*) echo "mkdir allowed under seccomp profile: $o"; return 1 ;; *rc=*) ;; *) echo "$o"; return 1 ;; esac
  o=$(d "${RUN[@]}" --rm --security-opt seccomp=unconfined "$IMG" sh -c 'mkdir /tmp/d && grep Seccomp: /proc/self/status') ||
    { echo "unconfined mkdir failed: $o"; return 1; }
  case $o in *0) ;; *) echo "seccomp=unconfined still filtered: $o"; return 1 ;; esac
}
t_default_seccomp() {  # Docker applies its default profile: the container runs in filter mode
  need_feature seccomp || return 77
  local o; o=$(d "${RUN[@]}" --rm "$IMG" sh -c 'grep Seccomp: /proc/self/status') || return 1
  case $o in *2) ;; *) echo "default seccomp not in filter mode: $o"; return 1 ;; esac
}
t_bind_mount() {
  mkdir -p "$W/vol"; echo vol-data > "$W/vol/f"
  local o; o=$(d "${RUN[@]}" --rm -v "$W/vol:/data:ro" "$IMG" sh -c 'cat /data/f; if touch /data/x 2>/dev/null; then echo writable; fi') || return 1
  expect_eq "$o" vol-data || return 1
  o=$(d "${RUN[@]}" --rm -v "$W/vol:/data" "$IMG" sh -c 'echo back > /data/g') || return 1
  expect_eq "$(cat "$W/vol/g" 2>&1)" back
}
t_tmpfs() {
  local o; o=$(d "${RUN[@]}" --rm --tmpfs /mnt/t:size=1m "$IMG" sh -c 'grep " /mnt/t " /proc/mounts') || return 1
  case $o in *tmpfs*size=1024k*) ;; *) echo "no 1m tmpfs at /mnt/t: $o"; return 1 ;; esac
}
t_cgroup_parent() {  # --cgroup-parent honoured: the container's cgroup is /<parent>/<id>
  d "${RUN[@]}" -d --name cgp "$IMG" sleep 1000 >/dev/null || return 1
  local pid id p; pid=$(ctr_pid cgp); id=$(d inspect -f '{{.Id}}' cgp)
  p=$(awk -F: '$2 == "memory" {print $3}' /proc/"$pid"/cgroup)
  dq rm -f cgp
  expect_eq "$p" "/$CGNAME/$id"
}
t_oom() {  # the kernel OOM-kills the container's pid 1 -> exit 137
  d "${RUN[@]}" --name oomer -m 32m --memory-swap 32m "$IMG" sh -c 'tail /dev/zero' >/dev/null 2>&1
  local rc=$? k; k=$(d inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oomer 2>&1)
  echo "$k" > "$W/oomkilled"
  dq rm -f oomer
  expect_eq "$rc" 137
}
t_oom_flag() {  # shim's OOM event (memory.oom_control eventfd) -> State.OOMKilled
  expect_eq "$(cat "$W/oomkilled" 2>/dev/null)" "true 137"
}
t_oom_event() { grep -q '^oom oomer$' "$W/events.log" || { echo "no oom event for oomer in docker events"; return 1; }; }
t_detached() {
  d "${RUN[@]}" -d --name d1 "$IMG" sh -c 'echo logline-1; trap "echo got-usr1" USR1; trap "echo got-term; exit 0" TERM; while :; do sleep 0.2; done' >/dev/null || return 1
  wait_state d1 running
}
t_exec_detached() {
  d exec -d d1 sh -c 'sleep 0.3; echo det > /tmp/exec-d' >/dev/null || return 1
  local i=0; while [ $i -lt 25 ]; do [ "$(d exec d1 cat /tmp/exec-d 2>/dev/null)" = det ] && return 0; sleep 0.2; i=$((i + 1)); done
  echo "exec -d did not run its command"; return 1
}
t_top() { local o; o=$(d top d1 2>&1) || { echo "top: $o"; return 1; }; echo "$o" | grep -q 'sleep\|sh' || { echo "top: $(echo "$o" | head -3)"; return 1; }; }
t_stats() {
  [ "$(state d1)" = running ] || { echo "d1 not running"; return 1; }
  local o; o=$(d stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' d1) || return 1
  case $o in "d1 "*B*) ;; *) echo "stats: $o"; return 1 ;; esac
  case $o in *" 0") echo "stats shows 0 pids: $o"; return 1 ;; esac
}
t_update_memory() {
  d update --memory 96m --memory-swap 192m d1 >/dev/null || return 1
  local pid v; pid=$(ctr_pid d1); v=$(cat "$(cg_file "$pid" memory memory.limit_in_bytes)" 2>&1)
  expect_eq "$v" 100663296
}
t_healthcheck() {
  d "${RUN[@]}" -d --name hc --health-cmd 'test -e /tmp/healthy' --health-interval 1s --health-retries 1 \
    "$IMG" sh -c 'touch /tmp/healthy; sleep 1000' >/dev/null || return 1
  local i=0 h
  while [ $i -lt 50 ]; do h=$(d inspect -f '{{.State.Health.Status}}' hc 2>&1); [ "$h" = healthy ] && break; sleep 0.2; i=$((i + 1)); done
  [ "$h" = healthy ] || { echo "health [$h], wanted healthy"; dq rm -f hc; return 1; }
  d exec hc rm /tmp/healthy
  i=0; while [ $i -lt 50 ]; do h=$(d inspect -f '{{.State.Health.Status}}' hc 2>&1); [ "$h" = unhealthy ] && break; sleep 0.2; i=$((i + 1)); done
  dq rm -f hc
  expect_eq "$h" unhealthy
}
t_stop() {  # d1 traps TERM and exits 0
  d stop -t 10 d1 >/dev/null || return 1
  wait_state d1 exited || return 1
  expect_eq "$(d inspect -f '{{.State.ExitCode}}' d1)" 0
}
t_start_again() {  # start an exited container again (new runtime create/start on the same bundle)
  d start d1 >/dev/null || return 1
  wait_state d1 running || return 1
  [ "$(d logs d1 2>&1 | grep -c logline-1)" = 2 ] || { echo "second run output not in logs"; return 1; }
}
t_stop_timeout_kill() {  # pid 1 sleep ignores SIGTERM -> docker escalates to SIGKILL after --stop-timeout
  d "${RUN[@]}" -d --name d2 --stop-timeout 2 "$IMG" sleep 1000 >/dev/null || return 1
  local s; s=$(date +%s%N); d stop d2 >/dev/null || return 1
  local ms=$(( ($(date +%s%N) - s) / 1000000 ))
  wait_state d2 exited || return 1
  expect_eq "$(d inspect -f '{{.State.ExitCode}}' d2)" 137 || return 1
  [ $ms -ge 1500 ] && [ $ms -lt 15000 ] || { echo "stop took ${ms} ms with --stop-timeout 2"; return 1; }
}
t_restart() {
  d "${RUN[@]}" -d --name d4 "$IMG" sleep 1000 >/dev/null || return 1
  local p1 p2; p1=$(ctr_pid d4)
  d restart -t 0 d4 >/dev/null || return 1
  wait_state d4 running || return 1
  p2=$(ctr_pid d4)
  [ "$p1" != "$p2" ] && [ "$p2" != 0 ] || { echo "pid unchanged after restart ($p1 -> $p2)"; return 1; }
}
t_restart_policy() {  # --restart on-failure: the daemon restarts a failing container by itself
  d "${RUN[@]}" -d --name d5 --restart on-failure:2 "$IMG" sh -c 'sleep 0.3; exit 3' >/dev/null || return 1
  local i=0 n
  while [ $i -lt 75 ]; do n=$(d inspect -f '{{.RestartCount}}' d5 2>&1); [ "$n" = 2 ] && break; sleep 0.2; i=$((i + 1)); done
  wait_state d5 exited 75 || return 1
  expect_eq "$(d inspect -f '{{.RestartCount}} {{.State.ExitCode}}' d5)" "2 3"
}
t_rm() {
  d ps -aq --no-trunc > "$W/ids" 2>/dev/null
  d rm -f d1 d2 d3 d4 d5 >/dev/null || return 1
  [ -z "$(d ps -aq)" ] || { echo "containers left: $(d ps -a --format '{{.Names}}' | tr '\n' ' ')"; return 1; }
}
t_checkpoint_create() {
  need_feature checkpoint || return 77
  d "${RUN[@]}" -d --name cr "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' >/dev/null || return 1
  wait_state cr running || return 1
  sleep 1.5
  d exec cr cat /tmp/count > "$W/cr-before" 2>&1
  local o; o=$(d checkpoint create cr cp1 2>&1) || { echo "checkpoint create: $o"; return 1; }
  wait_state cr exited || return 1
  o=$(d checkpoint ls cr 2>&1); echo "$o" | grep -q cp1 || { echo "checkpoint ls: $o"; return 1; }
}
t_checkpoint_restore() {
  need_feature checkpoint || return 77
  [ "$(d checkpoint ls cr 2>/dev/null | grep -c cp1)" = 1 ] || { echo "no checkpoint to restore"; dq rm -f cr; return 1; }
  local o; o=$(d start --checkpoint cp1 cr 2>&1) || { echo "start --checkpoint: $o"; dq rm -f cr; return 1; }
  wait_state cr running || { dq rm -f cr; return 1; }
  local a b; a=$(cat "$W/cr-before"); sleep 0.5; b=$(d exec cr cat /tmp/count 2>&1)
  dq rm -f cr
  # a restart from scratch would count from 1 again (~5 after 0.5 s); a restore continues from $a
  [ -n "$a" ] && [ "$b" -gt "$a" ] 2>/dev/null || { echo "counter did not continue after restore ($a -> $b)"; return 1; }
}
t_runtime_state_clean() {  # the runtime's own state is empty (dockerd 20.10 passes --root
  # <exec-root>/runtime-runc/moby for every runc-type runtime, whatever its name)
  local r o n=0
  for r in $(sed -n 's/.* --root \([^ ]*\) .*/\1/p' "$W/argv.log" | sort -u); do
    n=$((n + 1))
    o=$("$RUNTIME" --root "$r" list -q 2>&1)
    [ -z "$o" ] || { echo "runtime still lists in $r: $(echo "$o" | tr '\n' ' ')"; return 1; }
  done
  [ $n -gt 0 ] || { echo "no --root seen in the runtime's argv"; return 1; }
  [ -z "$(d ps -aq)" ] || { echo "containers left: $(d ps -aq | tr '\n' ' ')"; return 1; }
}
t_cgroups_clean() {  # no container cgroup left below our parent in any hierarchy
  local h left=
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h$CGNAME" ] || continue
    left="$left$(find "$h$CGNAME" -mindepth 1 -type d 2>/dev/null | head -n 3 | tr '\n' ' ')"
  done
  [ -z "$left" ] || { echo "container cgroups left: $left"; return 1; }
}
t_daemon_shutdown() {  # daemons exit on SIGTERM, taking their shims with them
  local shims; shims=$(find "$BASE/ctrd-state" -name shim.pid -exec cat {} \; 2>/dev/null | tr '\n' ' ')
  kill "$DOCKERD_PID" 2>/dev/null
  wait_gone "$DOCKERD_PID" 200 || { echo "dockerd still running 20 s after SIGTERM"; return 1; }
  [ -n "$EVENTS_PID" ] && kill $EVENTS_PID 2>/dev/null
  EVENTS_PID=
  kill "$CTRD_PID" 2>/dev/null
  wait_gone "$CTRD_PID" 100 || { echo "containerd still running 10 s after SIGTERM"; return 1; }
  local p; for p in $shims; do kill -0 "$p" 2>/dev/null && { echo "shim $p still running"; return 1; }; done
  return 0
}
t_mounts_clean() {
  local m; m=$(awk -v b="$BASE" '$5 == b || index($5, b "/") == 1 {print $5}' /proc/self/mountinfo)
  [ -z "$m" ] || { echo "mounts left: $(echo "$m" | head -n 3 | tr '\n' ' ')"; return 1; }
}
t_shim_sockets_clean() {
  local s; s=$(our_shim_sockets)
  [ -z "$s" ] || { echo "shim sockets left: $s"; return 1; }
}
t_cgroups_removed() {  # after removing our parent: nothing of ours left in any hierarchy or the tmpfs
  local e; e=$(new_cg_topdirs)
  [ -n "$e" ] && echo "note: plain dirs created in /sys/fs/cgroup: $e (removed)"
  rm_cgroup_tree "$CGNAME"
  for e in $e; do rmdir "/sys/fs/cgroup/$e" 2>/dev/null; done
  local left; left=$(ls -d /sys/fs/cgroup/*/"$CGNAME" /sys/fs/cgroup/"$CGNAME" 2>/dev/null | tr '\n' ' ')
  [ -z "$left" ] || { echo "cgroup dirs left: $left"; return 1; }
  [ -z "$(new_cg_topdirs)" ]
}

t_run_docker_clean() {  # nothing of ours left in the host's /run/docker (removed here if we created it)
  [ $RUN_DOCKER_EXISTED = 1 ] && return 0
  rmdir /run/docker/plugins /run/docker 2>/dev/null
  [ ! -e /run/docker ] || { echo "/run/docker left: $(ls -R /run/docker | head -n 5 | tr '\n' ' ')"; return 1; }
}
runtime_verbs() {  # count of runtime subcommands seen by the wrapper
  sed 's/^[^:]*: //' "$W/argv.log" | awk '{
    v = ""
    for (i = 1; i <= NF; i++) { if ($i ~ /^--(root|log|log-format|criu)$/) { i++; continue }; v = $i; break }
    c[v]++ } END { for (k in c) printf "%s=%d ", k, c[k] }'
}

# ---------------------------------------------------------------- main
echo "# dockerd $(dockerd --version | awk '{print $3}' | tr -d ,), cli $("$DOCKER" --version | awk '{print $3}' | tr -d ,), containerd $(containerd --version | awk '{print $3}'), runtime $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -1)), criu $(command -v criu || echo none), driver $DRIVER, cgroup parent /$CGNAME, state $BASE"
check containerd_start t_containerd
CTRD_PID=$(cat "$BASE/containerd.pid" 2>/dev/null)
[ $FAIL -eq 0 ] && check dockerd_start t_dockerd
DOCKERD_PID=$(cat "$BASE/dockerd.pid0" 2>/dev/null)
[ $FAIL -eq 0 ] && check image_import t_image
if [ $FAIL -ne 0 ]; then
  grep -v '^$' "$BASE/dockerd.log" 2>/dev/null | tail -n 5 | sed 's/^/# dockerd: /'
  summary; exit 1
fi
t_events_start; EVENTS_PID=$(tr '\n' ' ' < "$W/events.pid")

check run_rm_true t_run_rm_true
check run_runtime_is_testrt t_runtime_used
check run_output t_run_output
check run_exit_code t_exit_code
check run_missing_command_127 t_missing_command
check run_not_executable_126 t_not_executable
check run_env_workdir t_env_workdir
check run_stdin_pipe t_stdin_pipe
check run_tty t_run_tty
check run_tty_stdin t_run_tty_stdin
check run_user t_user
check run_cap_drop_all t_cap_drop_all
check run_cap_drop_chown t_cap_drop_chown
check run_read_only t_read_only
check run_seccomp_profile t_seccomp_profile
check run_default_seccomp t_default_seccomp
check run_hostname t_hostname
check run_bind_mount t_bind_mount
check run_tmpfs t_tmpfs
check run_cgroup_parent t_cgroup_parent
check run_memory_limit t_memory_limit
check run_oom_exit_137 t_oom
check run_oom_killed_flag t_oom_flag
check event_oom t_oom_event
check run_pids_limit t_pids_limit
check run_cpu_shares t_cpu_shares
check detached_running t_detached
check exec t_exec
check exec_env_workdir_user t_exec_opts
check exec_exit_code t_exec_exit_code
check exec_stdin t_exec_stdin
check exec_tty t_exec_tty
check exec_detached t_exec_detached
check exec_bad_workdir t_bad_workdir_exec
check ps t_ps
check top t_top
check logs t_logs
check kill_signal t_kill_signal
check pause_unpause t_pause_unpause
check stats_no_stream t_stats
check update_memory t_update_memory
check healthcheck t_healthcheck
check stop t_stop
check start_again t_start_again
check stop_timeout_sigkill t_stop_timeout_kill
check kill_default_137 t_kill_default
check restart t_restart
check restart_policy t_restart_policy
check rm t_rm
check checkpoint_create t_checkpoint_create
check checkpoint_restore t_checkpoint_restore
dq rm -f cr

check clean_runtime_state t_runtime_state_clean
check clean_cgroups t_cgroups_clean
check daemon_shutdown t_daemon_shutdown
check clean_mounts t_mounts_clean
check clean_shim_sockets t_shim_sockets_clean
check clean_cgroup_parent_removed t_cgroups_removed
check clean_run_docker t_run_docker_clean
echo "# runtime calls: $(runtime_verbs)"

summary
