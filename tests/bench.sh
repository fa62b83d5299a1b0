#!/bin/sh
# `make bench`: figures, not assertions (the machines are shared and noisy).
set -u
echo "== sandbox set-up + teardown (empty test body)"
build/bench_sandbox 200
echo
echo "== grading tcp-hello, reference submission, without the Valgrind tests"
tests=""
for t in $(build/grader list tcp-hello | awk 'NR>1 {print $1}' | grep -v valgrind); do tests="$tests --test $t"; done
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
