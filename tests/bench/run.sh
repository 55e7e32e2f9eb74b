#!/usr/bin/env bash
# run.sh - start-up benchmark: berth against Debian's runc and crun.
#
# Usage (as root): tests/bench/run.sh        (`make bench` builds and installs first)
#
# Measures, for each runtime, with one busybox bundle and the same config.json
# (the default from `runc spec`, the config every runc drop-in must accept):
#   run     `run` of /bin/true to completion (the whole lifecycle)
#   csd     create + start + delete, each timed alone (waiting for the
#           container to stop is not timed) and summed
#   state   `state` of a running container
#   rss     peak RSS of `run` (/usr/bin/time -f %M: the largest process
#           waited for, the runtime or its init child)
# Runtimes are interleaved: every round runs each runtime once, in an order
# that rotates from round to round, so drift of the machine (caches,
# frequency, other load) falls on all of them alike. Times come from bash's
# $EPOCHREALTIME around the command, so no timing process is forked.
# Each container has its own absolute cgroupsPath /berth-bench/<id>.
#
# crun (1.8) refuses to start containers on a hybrid cgroup host whose cgroup2
# mount (/sys/fs/cgroup/unified) has controllers. CRUN_MODE says what to do:
#   ns       (default) the whole benchmark re-executes itself in a private
#            mount namespace with that mount detached, so all three runtimes
#            see the same plain cgroup v1 host: a fair comparison.
#   wrapper  only crun runs through a wrapper,
#            unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec crun "$@"',
#            and berth and runc see the host as it is; the wrapper's unshare and
#            umount are then charged to crun.
#
# Environment (all optional):
#   BERTH=<repo>/bin/berth RUNC=/usr/sbin/runc CRUN=/usr/bin/crun   the binaries
#   ROUNDS=200      `run` rounds           CSD_ROUNDS=50   create/start/delete rounds
#   STATE_ROUNDS=100 `state` rounds        RSS_ROUNDS=10   peak RSS samples
#   WARMUP=5        untimed rounds first   CRUN_MODE=ns|wrapper
#   SPEC_FROM=runc  runtime whose `spec` writes the shared config.json
# Exit status: 0, or 1 if any runtime command failed (the table says which).
set -euo pipefail
export LC_ALL=C # $EPOCHREALTIME uses the locale's decimal point

SELF=$(readlink -f "$0")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd -P)
die() { echo "bench: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root"
CRUN_MODE=${CRUN_MODE:-ns}
case $CRUN_MODE in ns | wrapper) ;; *) die "CRUN_MODE must be ns or wrapper" ;; esac
UNIFIED=/sys/fs/cgroup/unified
unified_busy() { mountpoint -q "$UNIFIED" 2>/dev/null && [ -n "$(cat "$UNIFIED/cgroup.controllers" 2>/dev/null)" ]; }

# ns mode: re-execute in a private mount namespace without the v2 mount.
if [ "$CRUN_MODE" = ns ] && [ -z "${BENCH_IN_NS:-}" ] && unified_busy; then
	exec unshare -m --propagation private env BENCH_IN_NS=1 bash "$SELF" "$@"
fi
CGNOTE="cgroups as found"
if [ -n "${BENCH_IN_NS:-}" ]; then
	umount -l "$UNIFIED"
	CGNOTE="plain cgroup v1: the cgroup2 mount $UNIFIED is detached in a private mount namespace"
fi

ROUNDS=${ROUNDS:-200} CSD_ROUNDS=${CSD_ROUNDS:-50} STATE_ROUNDS=${STATE_ROUNDS:-100}
RSS_ROUNDS=${RSS_ROUNDS:-10} WARMUP=${WARMUP:-5}
NAMES=(berth runc crun)
declare -A BIN=([berth]=${BERTH:-$REPO/bin/berth} [runc]=${RUNC:-/usr/sbin/runc} [crun]=${CRUN:-/usr/bin/crun})
for n in "${NAMES[@]}"; do
	b=$(command -v -- "${BIN[$n]}") || die "no $n at ${BIN[$n]} (make build; scripts/install-deps.sh --bench)"
	BIN[$n]=$b
done
for t in jq sed /usr/bin/time; do command -v "$t" >/dev/null || die "need $t (scripts/install-deps.sh --bench)"; done

PFX=berth-bench
WORK=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
STATE=/run/berth-bench.$$
RES=$WORK/results
mkdir -p "$RES" "$STATE"

# the command line of runtime $1, as an array in RT
rt_cmd() {
	RT=("${BIN[$1]}" --root "$STATE/$1")
	if [ "$1" = crun ] && [ "$CRUN_MODE" = wrapper ]; then RT=("$WORK/crun-wrapper" --root "$STATE/$1"); fi
}

# shellcheck disable=SC2317 # called from the EXIT trap
kill_cgroup_procs() { # kill what is left in our cgroup subtree $1 (containers a failed command left)
	local f pid
	while read -r f; do
		while read -r pid; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done <"$f"
	done < <(find "$1" -name cgroup.procs 2>/dev/null)
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
	set +e
	local n id h
	for n in "${NAMES[@]}"; do
		rt_cmd "$n"
		"${RT[@]}" list -q 2>/dev/null | while read -r id; do "${RT[@]}" delete -f "$id" >/dev/null 2>&1; done
	done
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		if [ -L "$h" ] || [ ! -d "$h/$PFX" ]; then continue; fi
		kill_cgroup_procs "$h/$PFX"
		sleep 0.1
		find "$h/$PFX" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	awk -v d="$WORK" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$WORK" "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$CRUN_MODE" = wrapper ]; then
	if unified_busy; then
		cat >"$WORK/crun-wrapper" <<-EOF
			#!/bin/sh
			# crun in a private mount namespace without the cgroup2 mount (crun 1.8 refuses hybrid hosts).
			exec unshare -m --propagation private sh -c 'umount $UNIFIED && exec "\$0" "\$@"' '${BIN[crun]}' "\$@"
		EOF
	else
		printf '#!/bin/sh\nexec %s "$@"\n' "'${BIN[crun]}'" >"$WORK/crun-wrapper"
	fi
	chmod 755 "$WORK/crun-wrapper"
fi

# ---------------------------------------------------------------- bundles ----
# One rootfs; per runtime one bundle dir whose config.json is written from a
# template before each container (its cgroupsPath names the container).
SPEC_FROM=${SPEC_FROM:-${BIN[runc]}}
bash "$REPO/scripts/mkbundle.sh" --spec-from "$SPEC_FROM" --cgroups-path "/$PFX/@ID@" "$WORK/base" /bin/true >/dev/null
jq --arg r "$WORK/base/rootfs" '.root.path = $r' "$WORK/base/config.json" >"$WORK/true.tmpl"
jq '.process.args = ["/bin/sleep", "1000000"]' "$WORK/true.tmpl" >"$WORK/sleep.tmpl"
grep -q '@ID@' "$WORK/true.tmpl" || die "template has no cgroupsPath placeholder"
for n in "${NAMES[@]}"; do mkdir -p "$WORK/b-$n"; done

SEQ=0
new_container() { # $1 = runtime, $2 = template; sets ID and writes the bundle's config.json
	SEQ=$((SEQ + 1))
	ID=$1-$SEQ
	sed "s|@ID@|$ID|" "$WORK/$2.tmpl" >"$WORK/b-$1/config.json"
}

# timed KEY RUNTIME ARGS...: run the runtime once, append microseconds to $RES/KEY.RUNTIME
# (unless WARM is set). A failure is counted and logged, not timed.
WARM=
LAST_US=0
timed() {
	local key=$1 n=$2 t0 t1 rc=0
	shift 2
	rt_cmd "$n"
	t0=${EPOCHREALTIME/./}
	"${RT[@]}" "$@" </dev/null >/dev/null 2>"$RES/last.err" || rc=$?
	t1=${EPOCHREALTIME/./}
	LAST_US=$((t1 - t0))
	if [ $rc != 0 ]; then
		echo "$key" >>"$RES/fail.$n"
		{ echo "[$key] ${RT[*]} $* -> exit $rc"; head -5 "$RES/last.err"; } >>"$RES/errors.$n"
		return 1
	fi
	[ -n "$WARM" ] || echo "$LAST_US" >>"$RES/$key.$n"
}

wait_stopped() { # $1 runtime, $2 id: poll state (untimed) until the container stopped
	rt_cmd "$1"
	for _ in $(seq 500); do
		"${RT[@]}" state "$2" 2>/dev/null | grep -q '"status": *"stopped"' && return 0
		sleep 0.01
	done
	return 1
}

order() { # $1 = round: the runtimes, rotated by the round number
	local k
	for k in "${!NAMES[@]}"; do echo "${NAMES[$(((k + $1) % ${#NAMES[@]}))]}"; done
}

echo "# bench $(date -u +%FT%TZ), $(nproc) cpus, kernel $(uname -r)" >&2
echo "# $CGNOTE" >&2
for n in "${NAMES[@]}"; do echo "#   $n: ${BIN[$n]} ($("${BIN[$n]}" --version 2>/dev/null | head -1))" >&2; done
[ "$CRUN_MODE" = wrapper ] && echo "#   crun runs through $WORK/crun-wrapper" >&2

# -------------------------------------------------------------------- run ----
echo "# run /bin/true: $WARMUP warm-up + $ROUNDS rounds" >&2
for ((r = 0; r < WARMUP + ROUNDS; r++)); do
	WARM=
	[ $r -lt "$WARMUP" ] && WARM=1
	for n in $(order $r); do
		new_container "$n" true
		timed run "$n" run -b "$WORK/b-$n" "$ID" || true
	done
done
WARM=

# ---------------------------------------------------- create/start/delete ----
echo "# create+start+delete: $CSD_ROUNDS rounds" >&2
for ((r = 0; r < CSD_ROUNDS; r++)); do
	for n in $(order $r); do
		new_container "$n" true
		timed create "$n" create -b "$WORK/b-$n" "$ID" || continue
		c=$LAST_US
		timed start "$n" start "$ID" || continue
		s=$LAST_US
		wait_stopped "$n" "$ID" || { echo csd >>"$RES/fail.$n"; echo "[csd] $ID never stopped" >>"$RES/errors.$n"; continue; }
		timed delete "$n" delete "$ID" || continue
		echo $((c + s + LAST_US)) >>"$RES/csd.$n"
	done
done

# ------------------------------------------------------------------ state ----
echo "# state: $STATE_ROUNDS rounds on a running container" >&2
declare -A SLEEPER=()
for n in "${NAMES[@]}"; do
	new_container "$n" sleep
	if timed setup "$n" create -b "$WORK/b-$n" "$ID" && timed setup "$n" start "$ID"; then SLEEPER[$n]=$ID; fi
done
rm -f "$RES"/setup.*
for ((r = 0; r < STATE_ROUNDS; r++)); do
	for n in $(order $r); do
		[ -n "${SLEEPER[$n]:-}" ] && { timed state "$n" state "${SLEEPER[$n]}" || true; }
	done
done
for n in "${!SLEEPER[@]}"; do
	rt_cmd "$n"
	"${RT[@]}" delete -f "${SLEEPER[$n]}" >/dev/null 2>&1 || true
done

# --------------------------------------------------------------- peak RSS ----
echo "# peak RSS: $RSS_ROUNDS rounds" >&2
for ((r = 0; r < RSS_ROUNDS; r++)); do
	for n in $(order $r); do
		new_container "$n" true
		rt_cmd "$n"
		if /usr/bin/time -f %M -o "$RES/rss.tmp" "${RT[@]}" run -b "$WORK/b-$n" "$ID" </dev/null >/dev/null 2>"$RES/last.err"; then
			tail -1 "$RES/rss.tmp" >>"$RES/rss.$n"
		else
			echo rss >>"$RES/fail.$n"
			{ echo "[rss] run $ID failed"; head -5 "$RES/last.err"; } >>"$RES/errors.$n"
		fi
	done
done

# ----------------------------------------------------------------- report ----
stat_of() { # file -> "median mean n" (NA when empty)
	if [ ! -s "$1" ]; then echo "NA NA 0"; return; fi
	sort -n "$1" | awk '{ a[NR] = $1; s += $1 }
		END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%s %s %d\n", m, s / NR, NR }'
}
fmt() { # value unit -> text
	awk -v x="$1" -v u="$2" 'BEGIN { if (x == "NA") print "NA"; else if (u == "ms") printf "%.2f ms", x / 1000; else printf "%.0f KB", x }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

declare -A MED=()
echo
printf '%-28s %-6s %12s %12s %6s %6s\n' metric runtime median mean n failed
for m in "run:run /bin/true:ms" "csd:create+start+delete:ms" "create:  create:ms" "start:  start:ms" \
	"delete:  delete:ms" "state:state:ms" "rss:peak RSS of run:KB"; do
	IFS=: read -r key label unit <<<"$m"
	for n in "${NAMES[@]}"; do
		read -r med mean cnt < <(stat_of "$RES/$key.$n")
		MED[$key.$n]=$med
		fails=$(grep -cx "$key" "$RES/fail.$n" 2>/dev/null || true)
		printf '%-28s %-6s %12s %12s %6s %6s\n' "$label" "$n" "$(fmt "$med" "$unit")" "$(fmt "$mean" "$unit")" "$cnt" "${fails:-0}"
		label=
	done
	printf '%-28s berth/runc %s (median), berth/crun %s (median)\n' "" \
		"$(ratio "${MED[$key.berth]}" "${MED[$key.runc]}")" "$(ratio "${MED[$key.berth]}" "${MED[$key.crun]}")"
done
label="binary size"
for n in "${NAMES[@]}"; do
	printf '%-28s %-6s %12s\n' "$label" "$n" "$(($(stat -Lc %s "${BIN[$n]}") / 1024)) KB"
	label=
done

failed=0
for n in "${NAMES[@]}"; do
	if [ -s "$RES/errors.$n" ]; then
		failed=1
		echo "bench: $n had failures; first errors:" >&2
		head -20 "$RES/errors.$n" >&2
	fi
done
echo "SUMMARY: run /bin/true median berth=$(fmt "${MED[run.berth]}" ms) runc=$(fmt "${MED[run.runc]}" ms)" \
	"crun=$(fmt "${MED[run.crun]}" ms) berth/runc=$(ratio "${MED[run.berth]}" "${MED[run.runc]}")" \
	"berth/crun=$(ratio "${MED[run.berth]}" "${MED[run.crun]}")"
exit $failed
