#!/bin/bash
# containerd + containerd-shim-runc-v2 + ctr driving the runtime under test, offline. Run by
# run.sh, or alone:  RUNTIME=/abs/path/berth tests/clients/containerd.sh [STATE_DIR]
#
# A private containerd (own root, state, socket in STATE_DIR, default
# /var/tmp/berth-clients/containerd.<pid>, removed at exit) listening only on a unix socket;
# containers get no network (no --net-host, no CNI). The namespace is berth-clients-<pid>, so the
# containers' cgroups are /berth-clients-<pid>/<id> (removed at exit). The daemon, the event
# follower and every shim this run started are stopped at exit. Needs containerd, umoci,
# busybox-static, jq, util-linux; skips without them.
# Output as podman.sh. Exit status 0, 1 (a scenario failed), 2 (setup), 77 (skipped).

set -u
export LC_ALL=C
. "$(dirname "$0")/lib.sh" || exit 2

need_runtime
CLIENT_PKGS="containerd umoci busybox-static jq util-linux"
need_bins containerd ctr containerd-shim-runc-v2 umoci timeout script jq busybox

STEP_TIMEOUT=${STEP_TIMEOUT:-60}
BASE=${1:-/var/tmp/berth-clients/containerd.$$}
NS=berth-clients-$$
IMG=localhost/berth-clients-busybox:latest
PASS=0
FAIL=0
CTRD_PID=
EVENTS_PID=

mkdir -p "$BASE"/{root,state,bin,work,fifo,runc-root,opt} || exit 2
BASE=$(cd "$BASE" && pwd)
cd "$BASE" || exit 2
W=$BASE/work
SOCK=$BASE/containerd.sock

WRAP=$BASE/bin/$(basename "$RUNTIME")
write_wrapper "$WRAP" containerd || exit 2
# The runc v2 shim runs "runc" from its PATH when no BinaryName option is given (that is how a
# stock containerd finds runc). The daemon gets PATH=$BASE/pathbin:$PATH so that containers
# created without --runc-binary (ctr container create) still use RUNTIME.
mkdir -p "$BASE/pathbin" && ln -sf "$WRAP" "$BASE/pathbin/runc"

# ---------------------------------------------------------------- daemon config
cat > "$BASE/config.toml" <<EOF
version = 2
root = "$BASE/root"
state = "$BASE/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$BASE/opt"
EOF

c() {  # ctr against the private daemon, bounded time
  timeout -k 5 "$STEP_TIMEOUT" ctr --address "$SOCK" --namespace "$NS" "$@"
}
cq() { c "$@" >/dev/null 2>&1; }
RUNOPTS=(--runc-binary "$WRAP" --runc-root "$BASE/runc-root" --fifo-dir "$BASE/fifo")
CTR_TTY="ctr --address $SOCK --namespace $NS"

cleanup() {
  if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
    for t in $(c task ls -q 2>/dev/null); do c task kill -s SIGKILL "$t" >/dev/null 2>&1; done
    sleep 0.3
    for t in $(c task ls -q 2>/dev/null); do c task rm -f "$t" >/dev/null 2>&1; done
    for t in $(c container ls -q 2>/dev/null); do c container rm "$t" >/dev/null 2>&1; done
    c images rm "$IMG" >/dev/null 2>&1
    c namespaces rm "$NS" >/dev/null 2>&1
  fi
  [ -n "$EVENTS_PID" ] && kill "$EVENTS_PID" 2>/dev/null
  if [ -n "$CTRD_PID" ]; then
    kill "$CTRD_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CTRD_PID" 2>/dev/null
  fi
  # shims we caused to start (recorded in our private state dir)
  kill_shims "$BASE/state"
  unmount_below "$BASE"
  rm_cgroup_tree "$NS"
  [ "${KEEP:-0}" = 1 ] || rm -rf --one-file-system "$BASE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

task_status() { c task ls 2>/dev/null | awk -v t="$1" '$1 == t {print $3}'; }
task_pid() { c task ls 2>/dev/null | awk -v t="$1" '$1 == t {print $2}'; }
wait_status() {
  local i=0 s
  while [ $i -lt "${3:-50}" ]; do s=$(task_status "$1"); [ "$s" = "$2" ] && return 0; sleep 0.2; i=$((i + 1)); done
  echo "task $1 status [$s], wanted [$2]"; return 1
}
rmtask() { c task kill -s SIGKILL "$1" >/dev/null 2>&1; sleep 0.2; c task rm -f "$1" >/dev/null 2>&1; c container rm "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- checks
t_daemon() {
  PATH="$BASE/pathbin:$PATH" containerd --config "$BASE/config.toml" --log-level info > "$BASE/containerd.log" 2>&1 &
  echo $! > "$BASE/containerd.pid"
  wait_containerd "$SOCK"
}
t_image() {
  local r=$W/rootfs
  build_rootfs "$r" || return 1
  local L=$W/oci
  rm -rf "$L" "$W/bundle"
  timeout 60 umoci init --layout "$L" && timeout 60 umoci new --image "$L:latest" &&
    timeout 60 umoci unpack --image "$L:latest" "$W/bundle" >/dev/null &&
    cp -a "$r/." "$W/bundle/rootfs/" &&
    timeout 60 umoci repack --image "$L:latest" "$W/bundle" &&
    timeout 60 umoci config --image "$L:latest" --config.cmd /bin/sh --config.env PATH=/bin \
      --architecture "$(go env GOARCH 2>/dev/null || echo amd64)" --os linux || { echo "umoci failed"; return 1; }
  tar -C "$L" -cf "$W/oci.tar" . || return 1
  c images import --base-name localhost/berth-clients-busybox "$W/oci.tar" >/dev/null || return 1
  c images ls -q | grep -qx "$IMG" || { echo "imported: $(c images ls -q | tr '\n' ' ')"; return 1; }
}
t_events_start() {
  timeout -k 5 900 ctr --address "$SOCK" events > "$BASE/events.log" 2>&1 &
  EVENTS_PID=$!
  echo "$EVENTS_PID" > "$W/events.pid"
}
t_run_rm() { local o; o=$(c run --rm "${RUNOPTS[@]}" "$IMG" r1 echo hello-ctr) || return 1; expect_eq "$o" hello-ctr; }
t_run_true() { c run --rm "${RUNOPTS[@]}" "$IMG" r2 true; }
t_exit_code() { c run --rm "${RUNOPTS[@]}" "$IMG" r3 sh -c 'exit 42'; expect_eq $? 42; }
t_env_cwd() {
  local o; o=$(c run --rm "${RUNOPTS[@]}" --env FOO=bar --cwd /tmp "$IMG" r4 sh -c 'echo "$FOO $(pwd)"') || return 1
  expect_eq "$o" "bar /tmp"
}
t_tty() {
  local o; o=$(tty_run "$CTR_TTY run --rm -t --runc-binary $WRAP --runc-root $BASE/runc-root --fifo-dir $BASE/fifo $IMG r5 sh -c 'test -t 0 && test -t 1 && echo TTY-YES'")
  case $o in *TTY-YES*) ;; *) echo "no tty: $o"; return 1 ;; esac
}
t_tmpfs() {
  local o; o=$(c run --rm "${RUNOPTS[@]}" --mount "type=tmpfs,src=tmpfs,dst=/mnt/t,options=size=1m" "$IMG" r14 sh -c 'grep " /mnt/t " /proc/mounts') || return 1
  case $o in *tmpfs*size=1024k*) ;; *) echo "no 1m tmpfs at /mnt/t: $o"; return 1 ;; esac
}
t_missing_command() {  # the runtime's error reaches ctr's user word for word
  local o; o=$(c run --rm "${RUNOPTS[@]}" "$IMG" r15 /bin/no-such-program 2>&1) && { echo "ran a missing program"; return 1; }
  cq task rm -f r15; cq container rm r15
  case $o in *'"/bin/no-such-program"'*"no such file or directory"* | *'"/bin/no-such-program"'*"not found"*) ;; *) echo "error text: $o"; return 1 ;; esac
}
t_read_only() {
  local o; o=$(c run --rm "${RUNOPTS[@]}" --read-only "$IMG" r6 sh -c 'touch /x 2>/dev/null && echo writable || echo readonly') || return 1
  expect_eq "$o" readonly
}
t_cap_drop() {
  c run --rm "${RUNOPTS[@]}" --cap-drop CAP_CHOWN "$IMG" r7 sh -c 'touch /tmp/f; ! chown 1000 /tmp/f 2>/dev/null' ||
    { echo "chown allowed with --cap-drop CAP_CHOWN"; return 1; }
}
t_seccomp() {
  need_feature seccomp || return 77
  cat > "$W/seccomp.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_AARCH64"],
 "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
EOF
  c run --rm "${RUNOPTS[@]}" --seccomp --seccomp-profile "$W/seccomp.json" "$IMG" r8 sh -c 'mkdir /tmp/d 2>/dev/null' &&
    { echo "mkdir allowed under seccomp profile"; return 1; }
  c run --rm "${RUNOPTS[@]}" --seccomp "$IMG" r9 sh -c 'grep -q "Seccomp:.*2" /proc/self/status' || { echo "default profile not active"; return 1; }
}
t_bind_mount() {
  mkdir -p "$W/vol"; echo vol-data > "$W/vol/f"
  local o; o=$(c run --rm "${RUNOPTS[@]}" --mount "type=bind,src=$W/vol,dst=/data,options=rbind:ro" "$IMG" r10 cat /data/f) || return 1
  expect_eq "$o" vol-data
}
t_privileged() { c run --rm "${RUNOPTS[@]}" --privileged "$IMG" r11 sh -c 'grep -q "CapEff:.*[1-9a-f]" /proc/self/status && test -e /dev/tty1 -o -e /dev/loop0 -o -e /dev/mem'; }
t_oom() {
  c run --rm "${RUNOPTS[@]}" --memory-limit 33554432 "$IMG" oom1 sh -c 'tail /dev/zero' >/dev/null 2>&1
  expect_eq $? 137
}
t_oom_event() {
  local i=0; while [ $i -lt 25 ]; do grep -q '/tasks/oom' "$BASE/events.log" && return 0; sleep 0.2; i=$((i + 1)); done
  echo "no /tasks/oom event published by the shim"; return 1
}
t_run_detached() {
  c run -d "${RUNOPTS[@]}" --memory-limit 67108864 --cpu-shares 512 "$IMG" d1 \
    sh -c 'trap "echo got-usr1 > /tmp/sig" USR1; while :; do sleep 0.2; done' >/dev/null || return 1
  wait_status d1 RUNNING
}
t_limits() {
  local pid m s; pid=$(task_pid d1)
  m=$(cat "$(cg_file "$pid" memory memory.limit_in_bytes)" 2>&1); s=$(cat "$(cg_file "$pid" cpu cpu.shares)" 2>&1)
  expect_eq "$m" 67108864 || return 1
  case $s in 512|20|59) ;; *) echo "cpu shares/weight [$s]"; return 1 ;; esac
}
t_exec() { local o; o=$(c task exec --exec-id e1 d1 echo exec-ok) || return 1; expect_eq "$o" exec-ok; }
t_exec_opts() {
  local o; o=$(c task exec --exec-id e2 --cwd /tmp --user 1000 d1 sh -c 'echo $(pwd) $(id -u)') || return 1
  expect_eq "$o" "/tmp 1000"
}
t_exec_exit() { c task exec --exec-id e3 d1 sh -c 'exit 7'; expect_eq $? 7; }
t_exec_tty() {
  local o; o=$(tty_run "$CTR_TTY task exec -t --exec-id e4 --fifo-dir $BASE/fifo d1 sh -c 'test -t 1 && echo EXEC-TTY-YES'")
  case $o in *EXEC-TTY-YES*) ;; *) echo "no tty in exec -t: $o"; return 1 ;; esac
}
t_exec_detached() {
  c task exec -d --exec-id e5 d1 sleep 0.5 >/dev/null || return 1
  sleep 1.5
  return 0
}
t_task_ps() {
  local o; o=$(c task ps d1) || return 1
  [ "$(echo "$o" | tail -n +2 | wc -l)" -ge 2 ] || { echo "task ps: $o"; return 1; }
}
t_kill_signal() {
  c task kill -s SIGUSR1 d1 || return 1
  local i=0; while [ $i -lt 25 ]; do
    [ "$(c task exec --exec-id "k$i" d1 cat /tmp/sig 2>/dev/null)" = got-usr1 ] && return 0; sleep 0.2; i=$((i + 1))
  done
  echo "signal not delivered: $(grep -E 'SigCgt|SigIgn' /proc/"$(task_pid d1)"/status | tr '\n' ' ') sig=$(c task exec --exec-id kx d1 cat /tmp/sig 2>&1)"; return 1
}
t_pause_resume() {
  c task pause d1 || return 1
  wait_status d1 PAUSED || return 1
  c task resume d1 || return 1
  wait_status d1 RUNNING || return 1
  c task exec --exec-id e6 d1 true || { echo "exec after resume failed"; return 1; }
}
t_metrics() {
  local o; o=$(c task metrics d1) || return 1
  echo "$o" | grep -qi 'memory' || { echo "metrics: $(echo "$o" | head -3)"; return 1; }
}
t_kill_term_ignored_then_kill() {
  c run -d "${RUNOPTS[@]}" "$IMG" d2 sleep 1000 >/dev/null || return 1
  wait_status d2 RUNNING || return 1
  c task kill -s SIGKILL d2 || return 1
  wait_status d2 STOPPED || return 1
  c task rm d2 >/dev/null || return 1
  c container rm d2 || return 1
}
t_kill_all() {  # ctr task kill --all -> runtime kill --all
  c task exec -d --exec-id e7 d1 sleep 1000 >/dev/null || return 1
  c task kill -a -s SIGKILL d1 || return 1
  wait_status d1 STOPPED
}
t_delete() {
  c task rm d1 >/dev/null || return 1
  c container rm d1 || return 1
  [ -z "$(c task ls -q)" ] || { echo "tasks left: $(c task ls -q | tr '\n' ' ')"; return 1; }
}
t_create_start() {  # container create + task start; ctr c create has no --runc-binary: PATH-resolved "runc"
  c container create "$IMG" cs1 sleep 1000 >/dev/null || return 1
  c task start -d cs1 >/dev/null || { rmtask cs1; return 1; }
  wait_status cs1 RUNNING || { rmtask cs1; return 1; }
  rmtask cs1
}
t_checkpoint() {
  need_feature checkpoint || return 77
  c run -d "${RUNOPTS[@]}" "$IMG" cp1 sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' >/dev/null || return 1
  sleep 1
  local o; o=$(c task checkpoint --image-path "$W/cp-img" --work-path "$W/cp-work" cp1 2>&1) || { echo "checkpoint: $o"; rmtask cp1; return 1; }
  rmtask cp1
}
t_runtime_state_clean() {
  local o; o=$("$WRAP" --root "$BASE/runc-root/$NS" list -q 2>/dev/null)
  [ -z "$o" ] || { echo "runtime still lists: $(echo "$o" | tr '\n' ' ')"; return 1; }
}

# ---------------------------------------------------------------- main
echo "# containerd $(containerd --version | awk '{print $3}'), runtime $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -1)), namespace $NS, state $BASE"
check daemon_start t_daemon
CTRD_PID=$(cat "$BASE/containerd.pid" 2>/dev/null)
[ $FAIL -eq 0 ] && check image_import t_image
if [ $FAIL -ne 0 ]; then echo "$PASS passed, $FAIL failed"; exit 1; fi
t_events_start; EVENTS_PID=$(cat "$W/events.pid")

check run_rm_output t_run_rm
check run_rm_true t_run_true
check run_exit_code t_exit_code
check run_env_cwd t_env_cwd
check run_tty t_tty
check run_tmpfs t_tmpfs
check run_missing_command t_missing_command
check run_read_only t_read_only
check run_cap_drop t_cap_drop
check run_seccomp t_seccomp
check run_bind_mount t_bind_mount
check run_privileged t_privileged
check run_oom_exit_137 t_oom
check oom_event t_oom_event
check run_detached t_run_detached
check cgroup_limits t_limits
check task_exec t_exec
check task_exec_exit_code t_exec_exit
check task_exec_tty t_exec_tty
check task_exec_detached t_exec_detached
check task_ps t_task_ps
check task_kill_signal t_kill_signal
check task_pause_resume t_pause_resume
check task_metrics t_metrics
check task_exec_cwd_user t_exec_opts
check task_kill_sigkill t_kill_term_ignored_then_kill
check task_kill_all t_kill_all
check task_delete t_delete
check container_create_task_start t_create_start
check task_checkpoint t_checkpoint
check runtime_state_clean t_runtime_state_clean

summary
