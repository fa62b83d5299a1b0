#!/bin/sh
# `make bench`: figures, not assertions (the machines are shared and noisy).
set -u
echo "== sandbox set-up + teardown (empty test body)"
build/bench_sandbox 200
echo
echo "== sock_diag (grader/sockdiag.c) against /proc/net/tcp, microseconds per call"
if [ -x build/tests/check_sockdiag ]; then
	CK_RUN_CASE=benchmark build/tests/check_sockdiag | grep '^sockdiag benchmark'
else
	echo "  (build/tests/check_sockdiag not built: make build/tests/check_sockdiag)"
fi
echo
echo "== every lab: its full test set on its first good fixture, Valgrind and ASan tests excluded"
echo "   (median of 5 runs; the target is 2 s per lab on a 2-core machine)"
for lab in labs/*/; do
	lab=$(basename "$lab")
	good=$(ls -d fixtures/"$lab"/good-* 2>/dev/null | head -1)
	[ -n "$good" ] || continue
	tests=""
	for t in $(build/grader list "$lab" | awk 'NR>1 && $5 == "-" {print $1}'); do tests="$tests --test $t"; done
	times=""
	for run in 1 2 3 4 5; do
		start=$(date +%s.%N)
		build/grader grade "$lab" "$good" $tests >/dev/null
		end=$(date +%s.%N)
		times="$times $(awk "BEGIN {print $end - $start}")"
	done
	median=$(echo $times | tr ' ' '\n' | sort -n | sed -n 3p)
	printf "  %-14s %2d tests  median %5.2f s  (runs:%s)\n" "$lab" "$(echo $tests | wc -w | awk '{print $1/2}')" "$median" "$times"
done
echo
echo "== grading tcp-hello, reference submission, without the Valgrind and ASan tests"
tests=""
for t in $(build/grader list tcp-hello | awk 'NR>1 && $5 == "-" {print $1}'); do tests="$tests --test $t"; done
for run in 1 2 3; do
	start=$(date +%s.%N)
	build/grader grade tcp-hello fixtures/tcp-hello/good-reference $tests >/dev/null
	end=$(date +%s.%N)
	echo "run $run: $(awk "BEGIN {print $end - $start}") s ($(echo $tests | wc -w | awk '{print $1/2}') tests)"
done
echo
echo "== grading tcp-hello, reference submission, every test (Valgrind included)"
start=$(date +%s.%N)
build/grader grade tcp-hello fixtures/tcp-hello/good-reference >/dev/null
end=$(date +%s.%N)
echo "$(awk "BEGIN {print $end - $start}") s"
echo
echo "== per-test durations (ms), from the JSON report"
build/grader grade tcp-hello fixtures/tcp-hello/good-reference --format json |
	grep -E '"(name|duration_ms)"' | paste - - | sed 's/[",]//g' | awk '{printf "  %-36s %s\n", $2, $4}'

echo
sh tests/bench_grading.sh
