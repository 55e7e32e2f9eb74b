# shellcheck shell=bash
# Helpers and scenarios shared by the clients whose command line is Docker's (docker.sh and
# podman.sh). The sourcing script defines cli, its client command against its private daemon
# or store, bounded in time; cli_rm, which removes containers at once and quietly; RUN, the
# arguments that start a container (run and its options); and CLI_LINE, the client's command
# line as one string, for tty_run.

state() { cli inspect -f '{{.State.Status}}' "$1" 2>&1; }
wait_state() {  # wait_state CTR STATE [tries]
  local i=0 s
  while [ $i -lt "${3:-50}" ]; do s=$(state "$1"); [ "$s" = "$2" ] && return 0; sleep 0.2; i=$((i + 1)); done
  echo "state of $1 is [$s], wanted [$2]"; return 1
}
ctr_pid() { cli inspect -f '{{.State.Pid}}' "$1"; }

t_ps() { cli ps --format '{{.Names}} {{.Status}}' | grep -q '^d1 Up' || { echo "d1 not listed as Up: $(cli ps -a 2>&1 | tail -n 2)"; return 1; }; }
t_logs() { cli logs d1 2>&1 | grep -q logline-1 || { echo "logs: $(cli logs d1 2>&1 | head -3)"; return 1; }; }
t_kill_signal() {
  cli kill -s USR1 d1 >/dev/null || return 1
  local i=0; while [ $i -lt 25 ]; do cli logs d1 2>&1 | grep -q got-usr1 && return 0; sleep 0.2; i=$((i + 1)); done
  echo "trap output not seen after kill -s USR1"; return 1
}
t_pause_unpause() {
  cli pause d1 >/dev/null || return 1
  wait_state d1 paused || return 1
  local pid fz; pid=$(ctr_pid d1); fz=$(cat "$(cg_file "$pid" freezer freezer.state)" 2>/dev/null)
  [ -z "$fz" ] || [ "$fz" = FROZEN ] || { echo "freezer.state=$fz"; return 1; }
  cli unpause d1 >/dev/null || return 1
  wait_state d1 running || return 1
  cli exec d1 true || { echo "exec after unpause failed"; return 1; }
}

# Scenarios alike for both clients.
t_run_rm_true() { cli "${RUN[@]}" --rm "$IMG" true; }
t_run_output() { local o; o=$(cli "${RUN[@]}" --rm "$IMG" echo hello-from-container) || return 1; expect_eq "$o" hello-from-container; }
t_exit_code() { cli "${RUN[@]}" --rm "$IMG" sh -c 'exit 42'; expect_eq $? 42; }
t_not_executable() {
  local o rc; o=$(cli "${RUN[@]}" --rm "$IMG" /bin/not-executable 2>&1); rc=$?
  expect_eq "$rc" 126 || { echo "$o"; return 1; }
  case $o in *not-executable*"permission denied"*) ;; *) echo "error text: $o"; return 1 ;; esac
}
t_bad_workdir_exec() {  # exec with a missing workdir fails with the runtime's message
  local o; o=$(cli exec -w /no/such/dir d1 true 2>&1) && { echo "exec in a missing workdir succeeded"; return 1; }
  case $o in *"/no/such/dir"*) ;; *) echo "error text: $o"; return 1 ;; esac
}
t_env_workdir() {
  local o; o=$(cli "${RUN[@]}" --rm -e FOO=bar -w /tmp "$IMG" sh -c 'echo "$FOO $(pwd)"') || return 1
  expect_eq "$o" "bar /tmp"
}
t_stdin_pipe() { local o; o=$(echo piped-input | cli "${RUN[@]}" --rm -i "$IMG" cat) || return 1; expect_eq "$o" piped-input; }
t_user() { local o; o=$(cli "${RUN[@]}" --rm --user 1000:1000 "$IMG" sh -c 'echo $(id -u):$(id -g)') || return 1; expect_eq "$o" 1000:1000; }
t_cap_drop_all() {
  local o; o=$(cli "${RUN[@]}" --rm --cap-drop ALL "$IMG" sh -c 'grep CapEff /proc/self/status') || return 1
  case $o in *0000000000000000*) ;; *) echo "CapEff not empty: $o"; return 1 ;; esac
}
t_cap_drop_chown() {
  cli "${RUN[@]}" --rm --cap-drop CHOWN "$IMG" sh -c 'touch /tmp/f && ! chown 1000 /tmp/f 2>/dev/null' ||
    { echo "chown succeeded despite --cap-drop CHOWN"; return 1; }
  cli "${RUN[@]}" --rm "$IMG" sh -c 'touch /tmp/f && chown 1000 /tmp/f' || { echo "chown failed with default caps"; return 1; }
}
t_hostname() { local o; o=$(cli "${RUN[@]}" --rm --hostname rc-test "$IMG" hostname) || return 1; expect_eq "$o" rc-test; }
t_memory_limit() {
  cli "${RUN[@]}" -d --name memlim -m 64m "$IMG" sleep 1000 >/dev/null || return 1
  local pid f v; pid=$(ctr_pid memlim); f=$(cg_file "$pid" memory memory.limit_in_bytes); v=$(cat "$f" 2>&1)
  cli_rm memlim
  expect_eq "$v" 67108864
}
t_pids_limit() {
  cli "${RUN[@]}" -d --name pidlim --pids-limit 20 "$IMG" sleep 1000 >/dev/null || return 1
  local pid v o; pid=$(ctr_pid pidlim); v=$(cat "$(cg_file "$pid" pids pids.max)" 2>&1)
  o=$(cli exec pidlim sh -c 'i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done 2>&1; echo spawned' 2>&1)
  cli_rm pidlim
  expect_eq "$v" 20 || return 1
  case $o in *"can't fork"*|*"Resource temporarily unavailable"*|*"Try again"*) ;; *) echo "40 forks under pids-limit 20 did not fail: $o"; return 1 ;; esac
}
t_cpu_shares() {
  cli "${RUN[@]}" -d --name cpush --cpu-shares 512 "$IMG" sleep 1000 >/dev/null || return 1
  local pid v; pid=$(ctr_pid cpush); v=$(cat "$(cg_file "$pid" cpu cpu.shares)" 2>&1)
  cli_rm cpush
  case $v in 512|20|59) ;; *) echo "cpu.shares/weight is [$v]"; return 1 ;; esac
}
t_exec() { local o; o=$(cli exec d1 echo exec-ok) || return 1; expect_eq "$o" exec-ok; }
t_exec_opts() {
  local o; o=$(cli exec -e XV=1 -w /tmp --user 1000 d1 sh -c 'echo $XV $(pwd) $(id -u)') || return 1
  expect_eq "$o" "1 /tmp 1000"
}
t_exec_exit_code() { cli exec d1 sh -c 'exit 7'; expect_eq $? 7; }
t_exec_stdin() { local o; o=$(echo exec-stdin | cli exec -i d1 cat) || return 1; expect_eq "$o" exec-stdin; }
t_exec_tty() {
  local o; o=$(tty_run "$CLI_LINE exec -t d1 sh -c 'test -t 1 && echo EXEC-TTY-YES'")
  case $o in *EXEC-TTY-YES*) ;; *) echo "no tty in exec -t: $o"; return 1 ;; esac
}
t_kill_default() {
  cli "${RUN[@]}" -d --name d3 "$IMG" sleep 1000 >/dev/null || return 1
  cli kill d3 >/dev/null || return 1
  local rc; rc=$(cli wait d3) || return 1
  expect_eq "$rc" 137
}
