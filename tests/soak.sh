#!/bin/sh
# Soak: many tests back to back, then what they left on the machine.
# Not part of `make test`: figures, and a verdict on leftovers.
#
#   tests/soak.sh [TESTS]      default 1000 tests (two per grader run)
#   SOAK_MAX_S=1800            time cap: no new run starts after it
#   SOAK_RUN_MAX_S=120         one grader run is killed after this long
#
# Before and after, it takes a census of the machine: processes (a count
# by uid; those in a PID namespace other than ours), entries in /tmp,
# /var/tmp, /dev/shm and /dev/mqueue, SysV objects (/proc/sysvipc), mounts
# (/proc/self/mountinfo lines), cgroup folders named ipcgrader* under
# /sys/fs/cgroup.  A process counts when its PID namespace is new.  The graders get a TMPDIR of their own, which must be
# empty at the end; cgroup folders named after one of our graders' pids are
# ours for certain.  On a shared machine other people's tests come and go:
# a difference counts as a leftover only if it is still there in a second
# look a second later, and what is not attributable to us is marked "(not
# necessarily ours)".  Exit status: 0 nothing left, 1 leftovers or a failed
# run, 2 usage or the time cap cut the soak short.
set -u

tests=${1:-1000}
max_s=${SOAK_MAX_S:-1800}
run_max_s=${SOAK_RUN_MAX_S:-120}
case $tests in '' | *[!0-9]*) echo "usage: $0 [TESTS]" >&2; exit 2 ;; esac
runs=$(( (tests + 1) / 2 ))
cd "$(dirname "$0")/.." || exit 2
[ -x build/grader ] || { echo "soak: build/grader is not built: run make" >&2; exit 2; }

work=$(mktemp -d /tmp/soak-XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
mkdir "$work/tmp" "$work/census"
# The sandbox runs as an unprivileged uid: the scratch folder must be
# reachable for it, as under /tmp.
chmod 755 "$work" "$work/tmp"

lab=tcp-hello
sub=fixtures/tcp-hello/good-alt
set -- --test client-talks-to-reference-server --test server-answers-reference-client

own_ns=$(readlink /proc/self/ns/pid)

# census DIR: one file per thing counted, each sorted, for comm(1).
census() {
	d=$1
	mkdir -p "$d"
	ps -e -o uid= | awk '{n[$1]++} END {for (u in n) print u, n[u]}' | sort >"$d/uids"
	: >"$d/ns-procs"
	for p in /proc/[0-9]*; do
		ns=$(readlink "$p/ns/pid" 2>/dev/null) || continue
		[ "$ns" = "$own_ns" ] && continue
		echo "pid ${p#/proc/} ($(cat "$p/comm" 2>/dev/null)) in $ns"
	done | sort >"$d/ns-procs"
	sed 's/.* in //' "$d/ns-procs" | sort -u >"$d/namespaces"
	for dir in /tmp /var/tmp /dev/shm /dev/mqueue; do
		ls -A "$dir" 2>/dev/null | grep -v "^${work##*/}\$" | sed "s|^|$dir/|"
	done | sort >"$d/files"
	for f in shm msg sem; do
		[ -r /proc/sysvipc/$f ] && awk -v t="$f" 'NR>1 {print "sysv " t " key " $1 " id " $2}' /proc/sysvipc/$f
	done | sort >"$d/sysv"
	echo "mountinfo lines: $(wc -l </proc/self/mountinfo)" >"$d/mounts"
	find /sys/fs/cgroup -maxdepth 6 -type d -name 'ipcgrader*' 2>/dev/null | sort >"$d/cgroups"
}

census "$work/census/before"

t_start=$(date +%s.%N)
cap_end=$(( $(date +%s) + max_s ))
done_runs=0
failed_runs=0
cut_short=0
: >"$work/durations"
: >"$work/pids"
: >"$work/failures"
while [ "$done_runs" -lt "$runs" ]; do
	if [ "$(date +%s)" -ge "$cap_end" ]; then
		cut_short=1
		break
	fi
	TMPDIR="$work/tmp" build/grader grade "$lab" "$sub" "$@" \
		--format json --output "$work/report.json" >"$work/out" 2>&1 &
	pid=$!
	# A watchdog, so that a hung run cannot hold the soak: it kills the
	# grader at the run's deadline, and is itself ended (with its timer)
	# when the run ends first.
	(
		sleep "$run_max_s" &
		timer=$!
		trap 'kill "$timer" 2>/dev/null; exit 0' TERM
		wait "$timer" && kill -KILL "$pid" 2>/dev/null
	) &
	watchdog=$!
	wait "$pid"
	rc=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	echo "$pid" >>"$work/pids"
	done_runs=$((done_runs + 1))
	if [ "$rc" -ne 0 ]; then
		failed_runs=$((failed_runs + 1))
		echo "run $done_runs: exit $rc: $(head -c 300 "$work/out" | tr '\n' ' ')" >>"$work/failures"
	fi
	if [ -s "$work/report.json" ]; then
		tr ',{}' '\n\n\n' <"$work/report.json" | sed -n 's/.*"duration_ms": *\([0-9][0-9]*\).*/\1/p' >>"$work/durations"
		grep -q '"status": *"\(fail\|timeout\|crash\|error\|build_failed\)"' "$work/report.json" &&
			echo "run $done_runs: a test did not pass" >>"$work/failures"
		rm -f "$work/report.json"
	fi
done
t_end=$(date +%s.%N)

census "$work/census/after"
# A second look, a second later: what others' tests had running for a
# moment is gone, a leftover is not.
[ "$done_runs" -gt 0 ] && sleep 1
census "$work/census/again"

ntests=$(wc -l <"$work/durations")
echo "soak: $done_runs grader runs of $lab ($sub), $ntests tests"
awk -v s="$t_start" -v e="$t_end" -v n="$ntests" 'BEGIN {
	t = e - s; printf "total time: %.2f s\ntests per second: %.2f\n", t, (t > 0 ? n / t : 0) }'
sort -n "$work/durations" | awk -v s="$t_start" -v e="$t_end" '
	{ v[NR] = $1; sum += $1 }
	END {
		if (NR == 0) { print "per test: no reports"; exit }
		med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "per test (report duration_ms): mean %.1f ms, median %.1f ms, min %d ms, max %d ms\n",
			sum / NR, med, v[1], v[NR]
		printf "per test (wall, build included): mean %.1f ms\n", (e - s) * 1000 / NR
	}'
echo "failed runs: $failed_runs"
[ -s "$work/failures" ] && sed 's/^/  /' "$work/failures" | head -20

# What is in after and again but was not in before.
left="$work/leftovers"
: >"$left"
# A sandbox makes PID namespaces of its own: a process of ours left behind
# is in a namespace that did not exist before (a new process in another
# user's container is not).
comm -13 "$work/census/before/namespaces" "$work/census/again/namespaces" >"$work/new-ns"
comm -12 "$work/census/after/ns-procs" "$work/census/again/ns-procs" | while IFS= read -r line; do
	grep -qxF "${line##* in }" "$work/new-ns" && echo "$line"
done >>"$left"
for f in files sysv cgroups; do
	comm -13 "$work/census/before/$f" "$work/census/after/$f" >"$work/new-after"
	comm -12 "$work/new-after" "$work/census/again/$f" >>"$left"
done
cmp -s "$work/census/before/mounts" "$work/census/again/mounts" ||
	echo "mounts: $(cat "$work/census/before/mounts") before, $(cut -d: -f2 "$work/census/again/mounts") after" >>"$left"
if ! cmp -s "$work/census/before/uids" "$work/census/again/uids"; then
	echo "processes by uid, before -> after (not necessarily ours):"
	join -a1 -a2 -e0 -o 0,1.2,2.2 "$work/census/before/uids" "$work/census/again/uids" |
		awk '$2 != $3 {print "  uid " $1 ": " $2 " -> " $3}'
fi >"$work/uid-note"
# Ours for certain: a TMPDIR entry, a cgroup named after one of our graders.
ls -A "$work/tmp" | sed "s|^|TMPDIR $work/tmp/|" >>"$left"
ours=$(awk '{printf "ipcgrader-%d$|", $1}' "$work/pids")
ours=${ours%|}

if [ -s "$work/uid-note" ]; then cat "$work/uid-note"; fi
if [ -s "$left" ]; then
	echo "leftovers:"
	while IFS= read -r line; do
		case $line in
		TMPDIR*) echo "  $line" ;;
		*ipcgrader-*) if [ -n "$ours" ] && echo "$line" | grep -Eq "$ours"; then
				echo "  $line (ours)"
			else
				echo "  $line (not necessarily ours)"
			fi ;;
		*) echo "  $line (not necessarily ours)" ;;
		esac
	done <"$left"
else
	echo "leftovers: none"
fi
[ "$cut_short" -eq 1 ] && { echo "soak: cut short by the time cap of $max_s s after $done_runs of $runs runs"; exit 2; }
[ -s "$left" ] || [ "$failed_runs" -gt 0 ] || [ -s "$work/failures" ] && exit 1
exit 0
