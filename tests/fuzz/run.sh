#!/usr/bin/env bash
# Run every go test -fuzz target of the module for a short while.
#
#   bash tests/fuzz/run.sh            # each target for FUZZTIME (10s)
#   FUZZTIME=1m bash tests/fuzz/run.sh
#
# Targets are found, not listed here: every package whose test files
# declare "func Fuzz..." is asked for its targets with
# `go test -list '^Fuzz'`, so a new target (seccomp's FuzzCompile, say) is
# picked up as soon as it exists. Each target runs alone with
#   go test -run '^$' -fuzz '^Name$' -fuzztime $FUZZTIME ./pkg
# and the script prints, per target, how long it ran, how many inputs it
# tried and whether it found anything. A finding is a real bug: go test
# writes the input to the package's testdata/fuzz/<Name>/, where it stays
# as a regression seed once the bug is fixed (plain `go test` runs it).
# Exit status: 1 if any target found something or failed to run.
#
# Environment:
#   FUZZTIME          how long each target runs (go's -fuzztime: 10s, 1m, 5000x)
#   FUZZMINIMIZETIME  time to minimise a new input (-fuzzminimizetime; default
#                     2s: go's 60s would eat a short run's whole budget)
#   GO                the go command
set -euo pipefail

cd "$(dirname "$0")/../.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-2s}

# Packages with a fuzz target: their directories, as ./dir patterns.
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_]' . |
	grep -vE '/(testdata|vendor)/|^\./\.' | xargs -r -n1 dirname | sort -u)
if [ ${#dirs[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

# `go test -list` prints a package's matching tests, then "ok  <pkg> ...".
targets=()
pkg_names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) pkg_names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${pkg_names[@]}"; do targets+=("$pkg $n"); done
		pkg_names=()
		;;
	FAIL* | "---"*)
		echo "fuzz: listing targets failed: $line" >&2
		exit 1
		;;
	esac
done < <("$GO" test -list '^Fuzz' "${dirs[@]}")

echo "fuzz: ${#targets[@]} targets, ${FUZZTIME} each"
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	start=$(date +%s.%N)
	rc=0
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" \
		-fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg" >"$log" 2>&1 || rc=$?
	end=$(date +%s.%N)
	wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1fs", b - a }')
	# The last progress line: "fuzz: elapsed: 10s, execs: 123 (12/sec), new interesting: 4 (total: 9)".
	last=$(grep -E '^fuzz: elapsed: [0-9hms]+, execs' "$log" | tail -n1 || true)
	fuzzed=$(sed -nE 's/^fuzz: elapsed: ([0-9hms]+),.*/\1/p' <<<"$last")
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	newin=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	if [ "$rc" -eq 0 ]; then
		result="no finding"
	else
		failed=1
		input=$(sed -nE 's/.*Failing input written to (.*)/\1/p' "$log" | tail -n1)
		if [ -n "$input" ]; then
			result="FOUND a failing input: ${pkg#github.com/berthrt/berth/}/$input"
		else
			result="FAILED to run (exit $rc)"
		fi
		sed 's/^/    /' "$log"
	fi
	printf '%-24s %-36s fuzzed %-4s (%s with build), %s execs, %s new inputs: %s\n' \
		"$name" "${pkg#github.com/berthrt/berth/}" "${fuzzed:-0s}" "$wall" "${execs:-0}" "${newin:-0}" "$result"
done
if [ "$failed" -ne 0 ]; then
	echo "fuzz: a target found a failing input or did not run" >&2
	exit 1
fi
echo "fuzz: every target ran without a finding"
