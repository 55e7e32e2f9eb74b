#!/usr/bin/env bash
# run.sh - run the OCI runtime-tools validation suite (validation/*.t and
# cmd/runtimetest from github.com/opencontainers/runtime-tools) against berth
# or any other runc-compatible runtime.
#
# Usage (as root):
#   tests/oci/run.sh [--gate] [program-regex]
#
#   --gate   the mode `make test` uses. Programs listed in expected-pass.txt
#            run first, then the rest of the suite while the time budget
#            lasts. The exit status is non-zero only if a program from
#            expected-pass.txt fails; any other failure is reported as
#            "known", with its reason from known-failures.txt.
#   without --gate: every program matching the regex runs; the exit status
#            is non-zero if any of them fails.
#
# Environment (all optional):
#   RUNTIME                runtime under test (default: <repo>/bin/berth)
#   RUNTIME_ARGS           global options put before every runtime sub-command
#   OCI_CACHE              build cache and scratch (default /var/tmp/berth-oci-cache)
#   OCI_RESULTS            TAP, stderr and runtime-call logs (default tests/oci/results/<rt>-<date>-<pid>)
#   RUNTIME_TOOLS_VERSION  module version from the Go module proxy
#                          (default: pseudo-version of upstream master 5e639034, 2025-12-04)
#   RUNTIME_TOOLS_SRC      use this runtime-tools source tree (dir with go.mod) instead
#   OCI_TEST_TIMEOUT       seconds per expected program, or per program without --gate (default 120)
#   OCI_OTHER_TIMEOUT      --gate: seconds per program not in expected-pass.txt (default 30)
#   OCI_BUDGET             --gate: no program outside expected-pass.txt starts once the run has
#                          lasted this many seconds (default 600); those are reported "not run".
#                          (The whole suite takes about a minute with runc 1.1.5 on 2 cores;
#                          the budget only bites when programs hang into their timeouts.)
#   OCI_CGROUP_MODE        auto (default) | off. auto: in every cgroup-v1 hierarchy where this
#                          script is NOT in the root cgroup, each program runs inside a fresh
#                          <hierarchy>/berth-oci-harness/<run>/<program> cgroup, so that a runtime
#                          that resolves a relative cgroupsPath against its caller's cgroup never
#                          creates cgroups in whatever cgroup the caller lives in, and so that
#                          stray processes can be found and killed.
#   OCI_CGROUP_DENY        extended regex of cgroup paths never written to (default process_api)
#
# Output: a table with one row per program, then "programs: ..." and
# "assertions: ..." lines, and last a closing line "oci: N passed, M failed,
# K skipped" counting programs (--gate: failed = expected programs that
# failed, skipped = known failures and programs not run).
# Exit status: 0 on success, 1 on failure (see above), 2 on usage or build errors.
set -u
set -o pipefail

die() { echo "oci: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)

GATE=0
FILTER=.
while [ $# -gt 0 ]; do
	case $1 in
	--gate) GATE=1 ;;
	-h | --help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) FILTER=$1 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || die "must run as root"
RUNTIME=${RUNTIME:-$REPO/bin/berth}
REAL_RUNTIME=$(command -v -- "$RUNTIME") || die "RUNTIME '$RUNTIME' not found (run 'make build' first)"
case $REAL_RUNTIME in /*) ;; *) REAL_RUNTIME=$(readlink -f -- "$REAL_RUNTIME") ;; esac
[ -x "$REAL_RUNTIME" ] || die "RUNTIME '$REAL_RUNTIME' not executable"
for t in go jq flock setsid timeout; do command -v "$t" >/dev/null || die "need $t (scripts/install-deps.sh)"; done

CACHE=${OCI_CACHE:-/var/tmp/berth-oci-cache}
RT_MODULE=github.com/opencontainers/runtime-tools
RT_VERSION=${RUNTIME_TOOLS_VERSION:-v0.9.1-0.20251205004911-5e639034dcdc}
RT_SRC=${RUNTIME_TOOLS_SRC:-}
TEST_TIMEOUT=${OCI_TEST_TIMEOUT:-120}
OTHER_TIMEOUT=${OCI_OTHER_TIMEOUT:-30}
BUDGET=${OCI_BUDGET:-600}
CG_MODE=${OCI_CGROUP_MODE:-auto}
CG_DENY=${OCI_CGROUP_DENY:-process_api}
CG_ROOT=/sys/fs/cgroup
EXPECTED_FILE=$HERE/expected-pass.txt
KNOWN_FILE=$HERE/known-failures.txt
mkdir -p "$CACHE" || die "cannot create cache dir $CACHE"

# ---------------------------------------------------------------- build ----
src_key() {
	if [ -z "$RT_SRC" ]; then
		echo "mod-$RT_VERSION"
	elif [ -f "$RT_SRC/go.mod" ]; then
		echo "dir-$(cd "$RT_SRC" && find . -name '*.go' -not -path './vendor/*' -print0 | sort -z |
			xargs -0 sha256sum | sha256sum | cut -c1-16)"
	else
		die "RUNTIME_TOOLS_SRC=$RT_SRC is not a source tree (no go.mod)"
	fi
}

do_build() { # $1 = build dir (fresh)
	local b=$1 src=$1/src dir f n
	mkdir -p "$src"
	if [ -z "$RT_SRC" ]; then
		dir=$(cd "$b" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "$RT_MODULE@$RT_VERSION" | jq -r .Dir) ||
			die "go mod download $RT_MODULE@$RT_VERSION"
		[ -d "$dir" ] || die "go mod download $RT_MODULE@$RT_VERSION gave no directory"
		cp -a "$dir/." "$src/" || die "copy $dir"
		chmod -R u+w "$src" || die "chmod $src"
	else
		cp -a "$RT_SRC/." "$src/" || die "copy $RT_SRC"
	fi
	cd "$src" || die "cd $src"
	local modflag=-mod=mod
	[ -d vendor/github.com ] && modflag=-mod=vendor
	export GOFLAGS="$modflag -buildvcs=false" GOTOOLCHAIN=local GOWORK=off
	echo "oci: building runtime-tools ($(src_key)) in $src" >&2
	CGO_ENABLED=0 go build -tags "netgo osusergo" -o runtimetest ./cmd/runtimetest || die "build runtimetest"
	mkdir -p "$b/bin"
	go build -o "$b/bin/" ./validation/... || die "build validation programs"
	for f in "$b"/bin/*; do
		n=$(basename "$f")
		if [ -d "validation/$n" ]; then mv "$f" "validation/$n/$n.t"; else mv "$f" "validation/$n.t"; fi
	done
	rmdir "$b/bin" 2>/dev/null
	[ -f "rootfs-$(go env GOARCH).tar.gz" ] || die "rootfs-$(go env GOARCH).tar.gz missing in source"
	touch "$b/.built"
}

KEY=$(src_key)
BUILD=$CACHE/build-$KEY
exec 9>"$CACHE/.lock"
flock 9
if [ ! -f "$BUILD/.built" ]; then
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	(do_build "$BUILD") || { rm -rf "$BUILD"; die "build of runtime-tools failed"; }
fi
flock -u 9
SRC=$BUILD/src

declare -A PROG_PATH=()
ALL=()
while read -r p; do
	n=$(basename "$p" .t)
	PROG_PATH[$n]=$p
	ALL+=("$n")
done < <(cd "$SRC" && find validation -name '*.t' -type f | sort)
[ ${#ALL[@]} -gt 0 ] || die "no validation programs in $SRC"

# ---------------------------------------------------------- the lists ----
# expected-pass.txt: one program a line; known-failures.txt: a program name
# (or a shell glob such as linux_cgroups_*), a tab, the reason. '#' starts a comment.
declare -A EXPECTED=()
EXPECTED_ORDER=()
if [ -f "$EXPECTED_FILE" ]; then
	while read -r n _; do
		case $n in '' | '#'*) continue ;; esac
		[ -n "${PROG_PATH[$n]:-}" ] || die "expected-pass.txt names '$n', which is not a program of the suite"
		EXPECTED[$n]=1
		EXPECTED_ORDER+=("$n")
	done <"$EXPECTED_FILE"
fi
KNOWN_PAT=()
KNOWN_WHY=()
if [ -f "$KNOWN_FILE" ]; then
	while IFS=$'\t' read -r pat why; do
		case $pat in '' | '#'*) continue ;; esac
		KNOWN_PAT+=("$pat")
		KNOWN_WHY+=("${why:-no reason given}")
	done <"$KNOWN_FILE"
fi
known_reason() { # $1 = program
	local i
	for i in "${!KNOWN_PAT[@]}"; do
		# shellcheck disable=SC2254 # the pattern is meant to glob
		case $1 in ${KNOWN_PAT[$i]}) echo "${KNOWN_WHY[$i]}"; return 0 ;; esac
	done
	return 1
}
for n in "${EXPECTED_ORDER[@]}"; do
	if r=$(known_reason "$n"); then die "'$n' is both in expected-pass.txt and in known-failures.txt ($r)"; fi
done

# order: with --gate the expected programs first (the gate's answer comes early), then the rest
RUN_LIST=()
for n in "${ALL[@]}"; do
	echo "$n" | grep -Eq -- "$FILTER" || continue
	[ $GATE = 1 ] && [ -n "${EXPECTED[$n]:-}" ] && continue
	RUN_LIST+=("$n")
done
if [ $GATE = 1 ]; then
	front=()
	for n in "${EXPECTED_ORDER[@]}"; do echo "$n" | grep -Eq -- "$FILTER" && front+=("$n"); done
	RUN_LIST=("${front[@]}" "${RUN_LIST[@]}")
fi
[ ${#RUN_LIST[@]} -gt 0 ] || die "no program matches '$FILTER'"

# ---------------------------------------------------------------- setup ----
RTNAME=$(basename "$REAL_RUNTIME")
RESULTS=${OCI_RESULTS:-$HERE/results/$RTNAME-$(date +%Y%m%d-%H%M%S)-$$}
mkdir -p "$RESULTS" || die "cannot create $RESULTS"
WORK=$(mktemp -d "$CACHE/run.XXXXXX") || die "mktemp in $CACHE"
chmod 755 "$WORK" # bundles live below; keep the path traversable for user-namespaced containers
RUNID=$(basename "$WORK")

# A logging exec-wrapper: records every runtime command line (to find the
# containers a program left behind, and to show what the suite ran).
WRAPPER=$WORK/$RTNAME
cat >"$WRAPPER" <<EOF
#!/bin/sh
# logging exec-wrapper generated by tests/oci/run.sh
printf '%s\n' "\$*" >>"\${OCI_CALL_LOG:-/dev/null}"
exec '$REAL_RUNTIME' \${RUNTIME_ARGS:-} "\$@"
EOF
chmod 755 "$WRAPPER"

# the runtime itself, with the global options (RUNTIME_ARGS is a word list)
read -r -a RT_CMD <<<"${RUNTIME_ARGS:-}"
RT_CMD=("$REAL_RUNTIME" "${RT_CMD[@]}")

cg_denied() { [ -n "$CG_DENY" ] && [[ $1 =~ $CG_DENY ]]; }

# hierarchies (mount dirs) in which this script is not in the root cgroup
CG_HIERS=()
if [ "$CG_MODE" = auto ]; then
	while IFS=: read -r _ ctrls path; do
		[ -n "$ctrls" ] || continue # the cgroup2 entry
		[ "$path" = / ] && continue
		d=
		for c in ${ctrls//,/ }; do
			c=${c#name=}
			if [ -d "$CG_ROOT/$c" ]; then d=$CG_ROOT/$c; break; fi
		done
		[ -n "$d" ] || [ ! -d "$CG_ROOT/$ctrls" ] || d=$CG_ROOT/$ctrls
		[ -n "$d" ] && CG_HIERS+=("$d")
	done </proc/self/cgroup
fi

cg_mkdir() { # create cgroup dir (and parents), initialising cpuset if needed
	local d=$1 p
	cg_denied "$d" && return 1
	[ -d "$d" ] && return 0
	p=$(dirname "$d")
	[ -d "$p" ] || cg_mkdir "$p" || return 1
	mkdir "$d" || return 1
	if [ -f "$d/cpuset.cpus" ]; then
		cat "$p/cpuset.cpus" >"$d/cpuset.cpus"
		cat "$p/cpuset.mems" >"$d/cpuset.mems"
	fi
}

cg_kill_rmdir() { # kill every process in the cgroup subtree $1, remove it bottom-up
	local d=$1 pid i f any
	[ -d "$d" ] || return 0
	cg_denied "$d" && return 0
	for i in 1 2 3 4 5; do
		any=0
		while read -r f; do
			while read -r pid; do
				[ -n "$pid" ] || continue
				kill -KILL "$pid" 2>/dev/null && any=1
			done <"$f"
		done < <(find "$d" -name cgroup.procs 2>/dev/null)
		[ $any = 0 ] && break
		sleep 0.5
	done
	find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
}

# well-known cgroups the suite creates at hierarchy roots (absolute "/cgrouptest",
# and "testdir/cgrouptest/container" for runtimes that treat relative paths as root-relative)
cleanup_suite_cgroups() {
	local h n
	for h in "$CG_ROOT"/*/; do
		h=${h%/}
		for n in cgrouptest testdir; do
			[ -d "$h/$n" ] || continue
			cg_denied "$h/$n" && continue
			find "$h/$n" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	done
}

cleanup_containers() { # $1 = call log
	local id
	[ -f "$1" ] || return 0
	# container ids: the last word of every create/run invocation
	awk '{ for (i = 1; i <= NF; i++) if ($i !~ /^-/) { if ($i == "create" || $i == "run") print $NF; break } }' "$1" |
		sort -u | while read -r id; do
		if timeout 10 "${RT_CMD[@]}" state "$id" >/dev/null 2>&1; then
			echo "$id" >>"$1.leaked"
			timeout 20 "${RT_CMD[@]}" delete --force "$id" >/dev/null 2>&1 ||
				{
					timeout 10 "${RT_CMD[@]}" kill "$id" KILL >/dev/null 2>&1
					sleep 1
					timeout 20 "${RT_CMD[@]}" delete "$id" >/dev/null 2>&1
				}
		fi
	done
}

# unmount_under DIR: detach every mount at or below DIR (a container that shares
# the host mount namespace leaves its /proc, /dev, /sys mounts in the bundle),
# deepest first, so that deleting DIR can never reach into another filesystem.
unmount_under() {
	local d=$1 m
	[ -d "$d" ] || return 0
	d=$(cd "$d" && pwd -P) || return 0
	awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
}
safe_rm() { unmount_under "$1"; rm -rf --one-file-system "$1"; }

CURRENT_PGID=
final_cleanup() {
	[ -n "$CURRENT_PGID" ] && kill -KILL -- "-$CURRENT_PGID" 2>/dev/null
	local h
	for h in "${CG_HIERS[@]}"; do
		cg_kill_rmdir "$h/berth-oci-harness/$RUNID"
		rmdir "$h/berth-oci-harness" 2>/dev/null
	done
	cleanup_suite_cgroups
	safe_rm "$WORK"
}
trap final_cleanup EXIT
trap 'echo "oci: interrupted" >&2; exit 130' INT TERM

# ------------------------------------------------------------------ run ----
{
	echo "# runtime: $REAL_RUNTIME ($("${RT_CMD[@]}" --version 2>/dev/null | head -1))"
	echo "# runtime-tools: $KEY"
	echo "# kernel: $(uname -r)  results: $RESULTS"
	[ $GATE = 1 ] && echo "# gate: ${#EXPECTED_ORDER[@]} expected programs ($EXPECTED_FILE); others within a ${BUDGET}s budget"
	[ ${#CG_HIERS[@]} -gt 0 ] && echo "# per-program cgroups in: ${CG_HIERS[*]}"
} | tee "$RESULTS/summary.txt"

T_OK=0 T_FAIL=0 T_SKIP=0 T_TODO=0
N_PASS=0 N_GATE_FAIL=0 N_KNOWN=0 N_NOTRUN=0 N_FAIL=0
NEWLY_PASSING=()
GATE_FAILED=()
START=$SECONDS
printf 'program\tresult\tok\tnot_ok\tdiag_err\tskip\ttodo\tplan\tstatus\tseconds\tleaked\treason\n' >"$RESULTS/summary.tsv"
row() { # name result ok nok skip plan status secs reason
	local line
	line=$(printf '%-34s %-7s ok=%-4s not_ok=%-3s skip=%-3s plan=%-5s %-8s %4ss' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8")
	[ -n "$9" ] && line="$line  $9"
	echo "$line" | tee -a "$RESULTS/summary.txt"
}
printf '%-34s %-7s %s\n' program result details | tee -a "$RESULTS/summary.txt"

for name in "${RUN_LIST[@]}"; do
	prog=${PROG_PATH[$name]}
	expected=${EXPECTED[$name]:-}
	limit=$TEST_TIMEOUT
	if [ $GATE = 1 ] && [ -z "$expected" ]; then
		limit=$OTHER_TIMEOUT
		if [ $((SECONDS - START)) -ge "$BUDGET" ]; then
			N_NOTRUN=$((N_NOTRUN + 1))
			row "$name" "NOTRUN" - - - - - 0 "time budget of ${BUDGET}s spent (OCI_BUDGET)"
			printf '%s\tNOTRUN\t\t\t\t\t\t\t\t0\t0\ttime budget\n' "$name" >>"$RESULTS/summary.tsv"
			continue
		fi
	fi
	out=$RESULTS/$name.tap err=$RESULTS/$name.stderr calls=$RESULTS/$name.calls
	: >"$calls"
	tmp=$WORK/tmp-$name
	mkdir -p "$tmp" && chmod 755 "$tmp"
	cleanup_suite_cgroups
	t0=$SECONDS
	(
		for h in "${CG_HIERS[@]}"; do
			cg=$h/berth-oci-harness/$RUNID/$name
			if cg_mkdir "$cg"; then echo "$BASHPID" >"$cg/cgroup.procs"; else echo "oci: cannot use $cg" >&2; fi
		done
		cd "$SRC" || exit 99
		export RUNTIME=$WRAPPER TMPDIR=$tmp OCI_CALL_LOG=$calls
		exec setsid timeout -k 10 "$limit" "./$prog"
	) </dev/null >"$out" 2>"$err" &
	CURRENT_PGID=$!
	wait "$CURRENT_PGID"
	rc=$?
	secs=$((SECONDS - t0))
	cleanup_containers "$calls"
	kill -KILL -- "-$CURRENT_PGID" 2>/dev/null
	CURRENT_PGID=
	for h in "${CG_HIERS[@]}"; do cg_kill_rmdir "$h/berth-oci-harness/$RUNID/$name"; done
	cleanup_suite_cgroups
	safe_rm "$tmp"
	leaked=0
	[ -f "$calls.leaked" ] && leaked=$(wc -l <"$calls.leaked")

	read -r ok nok skip todo plan derr < <(awk '
		# a program may print several TAP streams (one per "TAP version" header); plans are summed.
		# Some programs (hooks, prestart, poststart, ...) report failure only as an "error:" YAML
		# diagnostic in a stream with no assertions; each such stream counts as one failure (derr).
		function endstream() { if (started && sa == 0 && serr > 0) derr++; sa = 0; serr = 0 }
		/^TAP version/ { endstream(); started = 1; next }
		/^ok /      { sa++; if (/# *[Ss][Kk][Ii][Pp]/) s++; else if (/# *[Tt][Oo][Dd][Oo]/) t++; else o++; next }
		/^not ok /  { sa++; if (/# *[Tt][Oo][Dd][Oo]/) t++; else if (/# *[Ss][Kk][Ii][Pp]/) s++; else n++; next }
		/^1\.\.[0-9]+/ { p += substr($1, 4) + 0; hp = 1; next }
		/^[ \t]+"error":/ { serr++ }
		END { started = 1; endstream(); printf "%d %d %d %d %s %d\n", o, n, s, t, (hp ? p : "none"), derr }' "$out")
	case $rc in
	124 | 137) status=timeout ;;
	*) status=exit:$rc ;;
	esac
	pass=1
	if [ "$rc" != 0 ] || [ "$nok" -gt 0 ] || [ "$derr" -gt 0 ] || [ "$plan" = none ] ||
		[ "$plan" -ne $((ok + nok + skip + todo)) ]; then
		pass=0
	fi
	T_OK=$((T_OK + ok)) T_FAIL=$((T_FAIL + nok + derr)) T_SKIP=$((T_SKIP + skip)) T_TODO=$((T_TODO + todo))
	[ $pass = 0 ] && [ $((nok + derr)) -eq 0 ] && T_FAIL=$((T_FAIL + 1)) # a failure with no "not ok" line
	reason=
	if [ $pass = 1 ]; then
		result=PASS
		N_PASS=$((N_PASS + 1))
		if [ $GATE = 1 ] && [ -z "$expected" ]; then
			reason="passes but is not in expected-pass.txt: add it to the gate"
			NEWLY_PASSING+=("$name")
		fi
	elif [ $GATE = 1 ] && [ -z "$expected" ]; then
		result=known
		N_KNOWN=$((N_KNOWN + 1))
		reason=$(known_reason "$name") || reason="not triaged: no entry in known-failures.txt"
	else
		result=FAIL
		N_FAIL=$((N_FAIL + 1))
		[ -n "$expected" ] && { N_GATE_FAIL=$((N_GATE_FAIL + 1)); GATE_FAILED+=("$name"); }
		reason="see $out and $err"
		[ "$status" = timeout ] && reason="timed out after ${limit}s; $reason"
	fi
	[ "$leaked" -gt 0 ] && reason="$reason (left $leaked container(s) behind)"
	row "$name" "$result" "$ok" "$((nok + derr))" "$skip" "$plan" "$status" "$secs" "$reason"
	printf '%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t%s\n' "$name" "$result" "$ok" "$nok" "$derr" "$skip" "$todo" \
		"$plan" "$status" "$secs" "$leaked" "$reason" >>"$RESULTS/summary.tsv"
done

# CI keeps only the log: show why each gated program failed.
for name in "${GATE_FAILED[@]}"; do
	echo "---- $name: failed assertions (TAP) and the end of its stderr ----"
	grep -A6 '^not ok' "$RESULTS/$name.tap" | head -40
	tail -n 15 "$RESULTS/$name.stderr"
	echo "---- $name: runtime calls ----"
	head -n 10 "$RESULTS/$name.calls"
done
{
	echo "assertions: ok=$T_OK not_ok=$T_FAIL skip=$T_SKIP todo=$T_TODO; $((SECONDS - START))s; results in $RESULTS"
	if [ $GATE = 1 ]; then
		echo "programs: $N_PASS pass, $N_GATE_FAIL of ${#EXPECTED_ORDER[@]} expected fail, $N_KNOWN known failures, $N_NOTRUN not run"
		[ ${#NEWLY_PASSING[@]} -gt 0 ] && echo "now passing, add to expected-pass.txt: ${NEWLY_PASSING[*]}"
		echo "oci: $N_PASS passed, $N_GATE_FAIL failed, $((N_KNOWN + N_NOTRUN)) skipped"
	else
		echo "programs: $N_PASS pass, $N_FAIL fail"
		echo "oci: $N_PASS passed, $N_FAIL failed"
	fi
} | tee -a "$RESULTS/summary.txt"
if [ $GATE = 1 ]; then
	[ "$N_GATE_FAIL" -eq 0 ]
else
	[ "$N_FAIL" -eq 0 ]
fi
