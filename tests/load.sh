#!/bin/sh
# Load: grade every good fixture many times while every core is kept busy,
# and check that each run gives full marks.  Not part of `make test`: it
# prints figures, and exits non-zero on any wrong verdict.
#
#   tests/load.sh [N]          grade each fixtures/*/good-*/ N times (default 30)
#   LOAD_TESTS="--test a --test b"   grade only these tests
#   LOAD_MAX_S=1500            hard time cap for the whole script: when it is
#                              reached the grader run in progress is stopped
#                              (and not counted), and what was done is reported
#   LOAD_NO_BUSY=1             no busy loops (a baseline for the figures)
#
# The load is one shell busy loop per online CPU (`nproc`), started by this
# script, each bounded by timeout(1) to the script's time cap, and killed at
# the end (and by a trap on EXIT, INT, TERM and HUP).  Runs go round-robin
# over the fixtures.  A run is graded `build/grader grade LAB FIXTURE --format
# json --output FILE`, LAB being the fixture's parent folder name.
#
# A wrong verdict is any of: a test whose status is not "pass" (its name,
# status and the first 200 characters of its message are printed); a test of
# the lab (or of LOAD_TESTS) missing from the report, or one there twice or
# unasked for; a build that is not "ok"; score below max_score; an exit status
# other than 0; no readable report.  Good fixtures must get full marks.
#
# Exit status: 0 every run had full marks; 1 at least one wrong verdict;
# 2 usage error, or the time cap cut the runs short (without wrong verdicts).
set -u

n=${1:-30}
max_s=${LOAD_MAX_S:-1500}
no_busy=${LOAD_NO_BUSY:-}
[ "$no_busy" = 0 ] && no_busy=
usage() { echo "usage: $0 [N]   (env: LOAD_TESTS, LOAD_MAX_S, LOAD_NO_BUSY)" >&2; exit 2; }
[ $# -le 1 ] || usage
case $n in '' | *[!0-9]* | 0) usage ;; esac
case $max_s in '' | *[!0-9]* | 0) echo "load: LOAD_MAX_S must be a positive number of seconds" >&2; exit 2 ;; esac
t0=$(date +%s)
cap_end=$((t0 + max_s))

cd "$(dirname "$0")/.." || exit 2
[ -x build/grader ] || { echo "load: build/grader is not built: run make" >&2; exit 2; }
command -v python3 >/dev/null || { echo "load: python3 is needed" >&2; exit 2; }
command -v timeout >/dev/null || { echo "load: timeout(1) is needed" >&2; exit 2; }

# LOAD_TESTS: words "--test NAME" only.
set -f
asked=""
expect_name=0
for w in ${LOAD_TESTS:-}; do
	if [ "$expect_name" -eq 1 ]; then
		case $w in -*) echo "load: LOAD_TESTS: --test wants a name, got \"$w\"" >&2; exit 2 ;; esac
		asked="$asked $w"
		expect_name=0
	elif [ "$w" = --test ]; then
		expect_name=1
	else
		echo "load: LOAD_TESTS takes only \"--test NAME\" words, got \"$w\"" >&2
		exit 2
	fi
done
[ "$expect_name" -eq 0 ] || { echo "load: LOAD_TESTS ends with --test and no name" >&2; exit 2; }
set +f

busy_pids=""
grader_pid=""
work=""
# shellcheck disable=SC2317 # called by the traps
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$grader_pid" ] && kill -TERM "$grader_pid" 2>/dev/null
	for p in $busy_pids; do kill -TERM "$p" 2>/dev/null; done
	[ -n "$grader_pid" ] && wait "$grader_pid" 2>/dev/null
	for p in $busy_pids; do wait "$p" 2>/dev/null; done
	busy_pids=""
	grader_pid=""
	[ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "load: interrupted" >&2; exit 130' INT
trap 'echo "load: terminated" >&2; exit 143' TERM
trap 'exit 129' HUP

work=$(mktemp -d "${TMPDIR:-/tmp}/load-XXXXXX") || exit 2
# The sandbox runs as an unprivileged uid: the graders' scratch folder must
# be reachable for it.
mkdir "$work/tmp" "$work/lists" || exit 2
chmod 755 "$work" "$work/tmp" || exit 2

# Checks one report.  Prints "FULL 0|1", "ISO mode", then one line per
# wrong verdict: "WRONG<TAB>test<TAB>status<TAB>message".
cat >"$work/check.py" <<'EOF'
import json, sys

report, expected_file, rc, stderr_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
wrong = []

def clean(s, n=200):
    s = "" if s is None else str(s)
    return "".join(c if c.isprintable() and c != "\t" else " " for c in s)[:n]

with open(expected_file) as f:
    expected = [l.strip() for l in f if l.strip()]
iso = "-"
try:
    with open(report) as f:
        r = json.load(f)
except Exception as e:
    try:
        with open(stderr_file, errors="replace") as f:
            err = f.read()
    except OSError:
        err = ""
    wrong.append(("(report)", "no report", "exit %d, %s; stderr: %s" % (rc, clean(e, 80), clean(err.strip()))))
    r = None
if r is not None:
    iso = clean((r.get("isolation") or {}).get("mode"), 40) or "-"
    build = r.get("build") or {}
    if build.get("status") != "ok":
        wrong.append(("(build)", clean(build.get("status"), 40), clean(build.get("log"))))
    seen = {}
    for t in r.get("tests") or []:
        name = clean(t.get("name"), 100)
        seen[name] = seen.get(name, 0) + 1
        if t.get("status") != "pass":
            wrong.append((name, clean(t.get("status"), 40), clean(t.get("message"))))
    for name in expected:
        if name not in seen:
            wrong.append((name, "missing", "not in the report"))
    for name, k in seen.items():
        if k > 1:
            wrong.append((name, "duplicate", "in the report %d times" % k))
        if name not in expected:
            wrong.append((name, "unexpected", "in the report but not asked for"))
    score, max_score = r.get("score"), r.get("max_score")
    if not isinstance(score, (int, float)) or not isinstance(max_score, (int, float)) \
            or max_score <= 0 or score != max_score:
        wrong.append(("(score)", "not full marks", "score %r of %r" % (score, max_score)))
    if rc != 0:
        wrong.append(("(exit)", "exit %d" % rc, "grader exit status %d (0 means every test passed)" % rc))
print("FULL %d" % (0 if wrong else 1))
print("ISO %s" % iso.replace(" ", "_"))
for w in wrong:
    print("WRONG\t%s\t%s\t%s" % w)
EOF

# The fixtures, and the tests each lab's runs must have.
: >"$work/fixtures"
for d in fixtures/*/good-*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	lab=${d%/*}
	lab=${lab##*/}
	list="$work/lists/$lab"
	if [ ! -f "$list" ]; then
		build/grader list "$lab" >"$work/list.out" 2>&1 ||
			{ echo "load: grader list $lab failed: $(head -c 300 "$work/list.out")" >&2; exit 2; }
		awk 'NR > 1 && NF {print $1}' "$work/list.out" >"$work/all"
		if [ -n "$asked" ]; then
			: >"$list"
			for t in $asked; do
				grep -qxF "$t" "$work/all" || { echo "load: lab $lab has no test \"$t\" (LOAD_TESTS)" >&2; exit 2; }
				echo "$t" >>"$list"
			done
		else
			cp "$work/all" "$list"
		fi
		[ -s "$list" ] || { echo "load: lab $lab lists no tests" >&2; exit 2; }
	fi
	echo "$lab $d" >>"$work/fixtures"
done
nfix=$(wc -l <"$work/fixtures")
set -f  # LOAD_TESTS is split into words below, never globbed
[ "$nfix" -gt 0 ] || { echo "load: no fixtures/*/good-*/ found" >&2; exit 2; }

ncpu=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if [ -n "$asked" ]; then tests_desc="only:$asked"; else tests_desc="every test"; fi
echo "load: $nfix good fixtures x $n runs, $tests_desc; time cap $max_s s"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($ncpu CPUs)"

if [ -z "$no_busy" ]; then
	i=0
	while [ "$i" -lt "$ncpu" ]; do
		# Bounded: none of them outlives the script's time cap, even if the
		# script itself is killed with SIGKILL.
		timeout -k 5 "$max_s" sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
		busy_pids="$busy_pids $!"
		i=$((i + 1))
	done
	echo "busy loops: $ncpu (pids$busy_pids), each bounded to $max_s s"
else
	echo "busy loops: none (LOAD_NO_BUSY)"
fi

: >"$work/runs"   # fixture-index wall-seconds full(0|1)
: >"$work/wrong"  # fixture-index<TAB>run<TAB>test<TAB>status<TAB>message
: >"$work/isos"
cut_short=0
t_start=$(date +%s.%N)
run=1
while [ "$run" -le "$n" ] && [ "$cut_short" -eq 0 ]; do
	line="round $run/$n:"
	fi=0
	while read -r lab dir; do
		fi=$((fi + 1))
		left=$((cap_end - $(date +%s)))
		if [ "$left" -le 0 ]; then cut_short=1; break; fi
		rm -f "$work/report.json"
		s=$(date +%s.%N)
		# Its own process group (timeout's), so that only this script's
		# traps stop it; bounded by the time cap.
		# shellcheck disable=SC2086
		TMPDIR="$work/tmp" timeout -k 10 "$left" build/grader grade "$lab" "$dir" ${LOAD_TESTS:-} \
			--format json --output "$work/report.json" </dev/null >"$work/out" 2>"$work/err" &
		grader_pid=$!
		wait "$grader_pid"
		rc=$?
		grader_pid=""
		e=$(date +%s.%N)
		if { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && [ "$(date +%s)" -ge "$cap_end" ]; then
			cut_short=1
			echo "load: time cap reached: run $run of $dir stopped (not counted)"
			break
		fi
		python3 "$work/check.py" "$work/report.json" "$work/lists/$lab" "$rc" "$work/err" >"$work/check" ||
			echo "FULL 0" >"$work/check"
		full=$(awk '$1 == "FULL" {print $2}' "$work/check")
		[ "$full" = 1 ] || full=0
		awk '$1 == "ISO" {print $2}' "$work/check" >>"$work/isos"
		awk -F '\t' -v f="$fi" -v r="$run" '$1 == "WRONG" {print f "\t" r "\t" $2 "\t" $3 "\t" $4}' \
			"$work/check" >>"$work/wrong"
		if [ "$full" = 1 ] || grep -q '^WRONG' "$work/check"; then :; else
			# check.py itself failed: that is a wrong verdict too, never a pass.
			printf '%s\t%s\t(check)\tno verdict\treport could not be checked\n' "$fi" "$run" >>"$work/wrong"
		fi
		wall=$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}')
		echo "$fi $wall $full" >>"$work/runs"
		if [ "$full" = 1 ]; then v=ok; else v=WRONG; fi
		line="$line ${dir##*/} ${wall}s $v,"
	done <"$work/fixtures"
	echo "${line%,}"
	run=$((run + 1))
done
t_end=$(date +%s.%N)

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$busy_pids" ]; then
	alive=0
	for p in $busy_pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
	echo "busy loops still running at the end: $alive of $ncpu"
	for p in $busy_pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $busy_pids; do wait "$p" 2>/dev/null; done
	busy_pids=""
fi
echo "isolation: $(sort -u "$work/isos" | tr '\n' ' ')"

echo
# stats FILTER-INDEX: "runs R, full marks F; wall min/median/max"
stats() {
	awk -v f="$1" '$1 == f || f == 0 {print $2, $3}' "$work/runs" | sort -n | awk '
		{ v[NR] = $1; sum += $1; full += $2 }
		END {
			if (NR == 0) { print "runs 0"; exit }
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "runs %d, full marks %d; wall per run min %.2f s, median %.2f s, max %.2f s, total %.1f s\n",
				NR, full, v[1], med, v[NR], sum
		}'
}
fi=0
while read -r lab dir; do
	fi=$((fi + 1))
	echo "$dir ($lab): $(stats "$fi")"
	awk -F '\t' -v f="$fi" '$1 == f {printf "  run %s: %s: %s: %s\n", $2, $3, $4, $5}' "$work/wrong"
done <"$work/fixtures"
echo "all: $(stats 0)"
awk -v s="$t_start" -v e="$t_end" 'BEGIN {printf "elapsed: %.1f s\n", e - s}'
scratch=$(ls -A "$work/tmp" | wc -l)
[ "$scratch" -eq 0 ] || echo "note: $scratch entries left in the graders' TMPDIR: $(ls -A "$work/tmp" | head -5 | tr '\n' ' ')"

runs=$(wc -l <"$work/runs")
fullruns=$(awk '$3 == 1' "$work/runs" | wc -l)
wrongs=$(wc -l <"$work/wrong")
runs=$((runs + 0)) fullruns=$((fullruns + 0)) wrongs=$((wrongs + 0))
[ "$cut_short" -eq 1 ] && echo "load: cut short by the time cap of $max_s s: $runs of $((n * nfix)) runs done"
echo "$runs runs, $fullruns with full marks, $wrongs wrong verdicts"
[ "$wrongs" -gt 0 ] && exit 1
[ "$cut_short" -eq 1 ] && exit 2
exit 0
