# shellcheck shell=bash
# Helpers shared by the client scenario scripts (podman.sh, containerd.sh, docker.sh).
# Sourced, never run. Each script sets BASE (its private state dir), W (work dir), PASS and FAIL
# before using them.

SKIP=0

# skip_all REASON: the whole client cannot run here (missing package, ...): say why, exit 77.
skip_all() {
  echo "# SKIP $(basename "$0" .sh): $1"
  exit 77
}

# need_bins BIN...: skip_all unless every BIN is on PATH.
need_runtime() {  # RUNTIME must be the absolute path of an executable, or the script exits 2
  [ -n "${RUNTIME:-}" ] && [ "${RUNTIME#/}" != "$RUNTIME" ] && [ -x "$RUNTIME" ] && return 0
  echo "usage: RUNTIME=/abs/path/to/runtime $0 [STATE_DIR]" >&2; exit 2
}
need_bins() {
  local b missing=
  for b in "$@"; do command -v "$b" >/dev/null 2>&1 || missing="$missing $b"; done
  [ -z "$missing" ] || skip_all "missing:$missing (Debian packages: ${CLIENT_PKGS:-see the header of $0})"
}

ok() { PASS=$((PASS + 1)); echo "ok $1"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok $1 - $2"; }
skipped() { SKIP=$((SKIP + 1)); echo "ok $1 # SKIP $2"; }

# check NAME FUNC: run FUNC; it prints a reason on failure (the last lines are kept). FUNC
# returning 77 means "skipped" and its output is the reason.
check() {
  local name=$1 out rc
  out=$("$2" 2>&1); rc=$?
  case $rc in
    0) ok "$name" ;;
    77) skipped "$name" "$(printf '%s' "$out" | tr -s '\n' | tail -n 1 | cut -c1-200)" ;;
    *)
      [ $rc -eq 124 ] && out="$out (timeout)"
      notok "$name" "$(printf '%s' "$out" | tr -s '\n' | tail -n 3 | tr '\n' ' ' | cut -c1-300)"
      ;;
  esac
}
summary() {
  echo "$PASS passed, $FAIL failed, $SKIP skipped"
  [ "$FAIL" -eq 0 ]
}
expect_eq() { [ "$1" = "$2" ] || { echo "expected [$2], got [$1]"; return 1; }; }
tty_run() {  # run a command line under a pseudo-terminal, bounded time
  timeout -k 5 "$STEP_TIMEOUT" script -qefc "$*" /dev/null < /dev/null
}

# runtime_feature NAME: succeeds if the runtime's `features` document says NAME is supported.
# NAME is seccomp or checkpoint. A scenario needing a feature the runtime does not claim is
# skipped (it is a later issue), and runs by itself once the runtime claims it.
wait_containerd() {  # wait_containerd SOCK: until the containerd just started answers on SOCK (log: $BASE/containerd.log)
  local i=0
  while [ $i -lt 100 ]; do
    [ -S "$1" ] && timeout 5 ctr --address "$1" version >/dev/null 2>&1 && return 0
    sleep 0.1; i=$((i + 1))
  done
  echo "containerd did not come up: $(tail -n 2 "$BASE/containerd.log")"; return 1
}
runtime_feature() {
  local f
  f=$("$RUNTIME" features 2>/dev/null) || return 1
  case $1 in
    seccomp) [ "$(printf '%s' "$f" | jq -r '.linux.seccomp.enabled // false')" = true ] ;;
    checkpoint)
      [ "$(printf '%s' "$f" | jq -r '.annotations["org.opencontainers.runc.checkpoint.enabled"] // "false"')" = true ] &&
        command -v criu >/dev/null
      ;;
    *) return 1 ;;
  esac
}
need_feature() {  # need_feature NAME: in a scenario, `need_feature seccomp || return 77`
  runtime_feature "$1" && return 0
  case $1 in
    checkpoint) echo "the runtime's features do not claim checkpoint/restore (or no criu on PATH)" ;;
    *) echo "the runtime's features do not claim $1" ;;
  esac
  return 1
}

# write_wrapper PATH TAG: a shell script at PATH that logs its argv to $W/argv.log (TAG first)
# and execs RUNTIME. Clients only ever see the wrapper. The line is written in one write(2):
# the runtime runs concurrently, and piecewise writes interleaved into garbled lines.
write_wrapper() {
  {
    echo '#!/bin/sh'
    printf 'LOG=%q\n' "$W/argv.log"
    printf 'TAG=%q\n' "$2"
    cat <<'EOF'
line="$TAG ppid=$PPID:"; for a in "$@"; do line="$line $a"; done
printf '%s\n' "$line" >> "$LOG" 2>/dev/null
EOF
    printf 'exec %q "$@"\n' "$RUNTIME"
  } > "$1" && chmod +x "$1"
}

# build_rootfs DIR: a busybox root filesystem from Debian's static busybox (no registry).
build_rootfs() {
  local bb r=$1 a
  bb=$(command -v busybox) || { echo "busybox-static not found"; return 1; }
  if command -v file >/dev/null && file -L "$bb" | grep -q dynamic; then
    echo "$bb is not static (install busybox-static)"; return 1
  fi
  rm -rf "$r"; mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,root,var/tmp,run,home/user} || return 1
  chmod 1777 "$r/tmp"
  cp "$bb" "$r/bin/busybox" || return 1
  for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$r/etc/passwd"
  printf 'root:x:0:\nuser:x:1000:\nnobody:x:65534:\n' > "$r/etc/group"
  printf 'not a program\n' > "$r/bin/not-executable"
}

# cg_file PID CONTROLLER FILE: the host path of a file of PID's cgroup (v1, or v2 with the file
# name translated).
cg_file() {
  local pid=$1 c=$2 f=$3 p
  p=$(awk -F: -v c="$c" '{n=split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' /proc/"$pid"/cgroup)
  if [ -n "$p" ] && [ -e "/sys/fs/cgroup/$c$p/$f" ]; then echo "/sys/fs/cgroup/$c$p/$f"; return; fi
  p=$(awk -F: '$1 == "0" {print $3}' /proc/"$pid"/cgroup)
  local root=/sys/fs/cgroup; [ -d /sys/fs/cgroup/unified ] && root=/sys/fs/cgroup/unified
  case $f in
    memory.limit_in_bytes) f=memory.max ;; cpu.shares) f=cpu.weight ;;
  esac
  echo "$root$p/$f"
}

# rm_cgroup_tree NAME: remove the cgroup directory NAME (a test-only parent this run created) and
# its children from every hierarchy. rmdir only: a cgroup that still has tasks stays.
rm_cgroup_tree() {
  local h d
  case $1 in berth-clients-*) ;; *) echo "rm_cgroup_tree: refusing $1" >&2; return 1 ;; esac
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    d=$h$1
    [ -d "$d" ] && [ -e "$d/cgroup.procs" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
}

# unmount_below DIR: lazily unmount everything mounted at or below DIR, deepest first.
unmount_below() {
  awk -v b="$1" '$5 == b || index($5, b "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
}

# wait_gone PID TENTHS: wait up to TENTHS tenths of a second for PID to exit.
wait_gone() {
  local i=0
  while [ $i -lt "$2" ]; do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; i=$((i + 1)); done
  return 1
}

# kill_shims DIR: SIGKILL the shims whose shim.pid files are below DIR (the private containerd
# state of this run), if the PID still is a containerd shim (not a reused PID).
kill_shims() {
  local f p
  while IFS= read -r f; do
    p=$(cat "$f" 2>/dev/null)
    [ -n "$p" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q containerd-shim && kill -9 "$p" 2>/dev/null
  done < <(find "$1" -name shim.pid 2>/dev/null)
}
