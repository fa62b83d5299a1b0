#!/bin/sh
# Where one grading's time goes (figures, not assertions: the machines are
# shared and noisy; compare builds side by side in the same run).  Part of
# `make bench`; alone: sh tests/bench_grading.sh [RUNS] (default 3).
#
#   - a whole tcp-hello grading, wall and CPU (the grader with every
#     process it waited for), of a good submission and of one whose client
#     spins: compile included (--no-cache) and with the compile cache warm;
#   - the build: compiled, and taken from the cache;
#   - each test's phases (IPCGRADER_TIMING=1): sandbox set-up, readiness
#     wait (and the init's CPU meanwhile), steps, teardown.
set -u
cd "$(dirname "$0")/.." || exit 2
runs=${1:-3}
g=build/grader
[ -x "$g" ] || { echo "bench_grading: run make first" >&2; exit 2; }
work=$(mktemp -d /tmp/bench-grading-XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT INT TERM HUP
cache="$work/cache"

# median of the numbers on stdin
median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }

# wall and CPU seconds of one command (CPU: user + system of it and its children)
measure() {
	/usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >/dev/null 2>&1
	tail -n 1 "$work/time" | awk '{printf "%s %.2f\n", $1, $2 + $3}' # after "exited with status 1"
}

whole() { # label, then the grade command's arguments
	label=$1
	shift
	: >"$work/runs"
	for _ in $(seq "$runs"); do measure "$g" grade "$@" >>"$work/runs"; done
	printf "  %-44s wall %5s s  cpu %5s s  (median of %d)\n" "$label" \
		"$(cut -d' ' -f1 "$work/runs" | median)" "$(cut -d' ' -f2 "$work/runs" | median)" "$runs"
}

echo "== one tcp-hello grading, every test (Valgrind and ASan included)"
if [ ! -x /usr/bin/time ]; then
	echo "  (needs /usr/bin/time)"
else
	good=fixtures/tcp-hello/good-reference
	spin=fixtures/tcp-hello/bug-client-waits-for-more
	whole "good-reference, compiled (--no-cache)" tcp-hello "$good" --no-cache
	"$g" grade tcp-hello "$good" --cache-dir "$cache" >/dev/null 2>&1 # warm the cache
	whole "good-reference, build from the cache" tcp-hello "$good" --cache-dir "$cache"
	whole "bug-client-waits-for-more (spins), compiled" tcp-hello "$spin" --no-cache
fi

echo
echo "== the build of good-reference (with its ASan pass), ms"
for how in "--no-cache" "--cache-dir $cache"; do
	: >"$work/runs"
	for _ in $(seq "$runs"); do
		# shellcheck disable=SC2086
		IPCGRADER_TIMING=1 "$g" grade tcp-hello fixtures/tcp-hello/good-reference --test client-asan $how 2>&1 >/dev/null |
			awk '/build begins/ {b = $2} /build ends/ {printf "%.0f\n", $2 - b}' >>"$work/runs"
	done
	printf "  %-22s median %6s ms  (runs: %s)\n" "$how" "$(median <"$work/runs")" "$(tr '\n' ' ' <"$work/runs")"
done

echo
echo "== each test of good-reference: its phases (ms; init cpu: the init's CPU while it waited for readiness)"
IPCGRADER_TIMING=1 "$g" grade tcp-hello fixtures/tcp-hello/good-reference --cache-dir "$cache" 2>"$work/timing" >/dev/null
awk '
# "timing T ms cpu C ms pid P what...": $2 is T, $5 is C, $9... what
/sandbox begins/ { name = $10; sub(":", "", name); t0 = $2; ready = 0; icpu = 0; steps = 0 }
/init runs the test/ { setup = $2 - t0; s0 = $2 }
/waiting until ready/ { r0 = $2; c0 = $5 }
/ready \(or gone\)/ { ready += $2 - r0; icpu += $5 - c0 }
/teardown begins/ { steps = $2 - s0; d0 = $2 }
/teardown done/ { down = $2 - d0 }
/sandbox gone/ {
	printf "  %-34s total %6.0f  set-up %4.0f  ready-wait %6.1f (init cpu %4.1f)  steps %6.0f  teardown %5.0f\n",
		name, $2 - t0, setup, ready, icpu, steps - ready, down
}' "$work/timing"
