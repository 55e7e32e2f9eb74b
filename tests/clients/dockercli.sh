# shellcheck shell=bash
# Helpers and scenarios shared by the clients whose command line is Docker's (docker.sh and
# podman.sh). The sourcing script defines cli, its client command against its private daemon
# or store, bounded in time.

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
