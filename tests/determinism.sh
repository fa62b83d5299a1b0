#!/bin/sh
# Determinism: grade every fixture N times in a row and compare each run
# with what it must say (good-*: every test passes; bug-*: expected.json).
# Not part of `make test`: it prints figures, and exits 1 on any run that
# differs.  Needs python3 (to read the JSON reports).
#
#   tests/determinism.sh [N] [LAB...]   default N=20, every lab with fixtures
#   DETERMINISM_BUSY=1                  keep every core busy meanwhile (one
#                                       bounded shell loop per CPU)
#   DETERMINISM_MAX_S=3000              no new run starts after this long
#   DETERMINISM_ONLY=good|bug           only the good-* or only the bug-* fixtures
set -u
n=${1:-20}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.." || exit 2
[ -x build/grader ] || { echo "determinism: run make first" >&2; exit 2; }
command -v python3 >/dev/null || { echo "determinism: needs python3" >&2; exit 2; }
max_s=${DETERMINISM_MAX_S:-3000}
labs=${*:-$(ls fixtures | grep -v '^hostile$')}
work=$(mktemp -d /tmp/determinism-XXXXXX) || exit 2
busy=""
cleanup() { for p in $busy; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT INT TERM HUP
if [ "${DETERMINISM_BUSY:-}" = 1 ]; then
	for _ in $(seq "$(nproc)"); do
		timeout "$max_s" sh -c 'while :; do :; done' &
		busy="$busy $!"
	done
	echo "(every core kept busy by a shell loop)"
fi
start=$(date +%s)
bad=0
for lab in $labs; do
	runs=0 diffs=0 errors=0 ms=""
	case ${DETERMINISM_ONLY:-} in
	good) set -- fixtures/"$lab"/good-* ;;
	bug) set -- fixtures/"$lab"/bug-* ;;
	*) set -- fixtures/"$lab"/good-* fixtures/"$lab"/bug-* ;;
	esac
	for fx in "$@"; do
		[ -d "$fx" ] || continue
		i=0
		while [ $i -lt "$n" ] && [ $(( $(date +%s) - start )) -lt "$max_s" ]; do
			i=$((i + 1))
			t0=$(date +%s%N)
			build/grader grade "$lab" "$fx" --format json --output "$work/r.json" >/dev/null 2>&1
			t1=$(date +%s%N)
			ms="$ms $(( (t1 - t0) / 1000000 ))"
			runs=$((runs + 1))
			out=$(python3 - "$fx" "$work/r.json" <<'PY'
import json, os, sys
fx, rep = sys.argv[1], sys.argv[2]
try:
    r = json.load(open(rep))
except Exception as e:
    print("no report: %s" % e); sys.exit(0)
exp = None
if os.path.basename(fx).startswith("bug-"):
    exp = json.load(open(os.path.join(fx, "expected.json")))["tests"]
for t in r["tests"]:
    want = "pass" if exp is None else exp.get(t["name"])
    if t["status"] == "error":
        print("ERROR %s: %s" % (t["name"], t["message"][:160]))
    elif t["status"] != want:
        print("%s: %s, expected %s: %s" % (t["name"], t["status"], want, t["message"][:160]))
PY
)
			if [ -n "$out" ]; then
				case $out in ERROR*) errors=$((errors + 1)) ;; *) diffs=$((diffs + 1)); bad=1 ;; esac
				echo "  $fx run $i:"; echo "$out" | sed 's/^/    /'
			fi
		done
	done
	med=$(echo $ms | tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END {print NR ? v[int((NR+1)/2)] : 0}')
	printf "%-14s %4d runs  %3d differing  %3d with an error  median %5d ms per grading\n" "$lab" "$runs" "$diffs" "$errors" "$med"
done
exit $bad
