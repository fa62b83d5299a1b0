#!/bin/sh
# Grading a class: `grader batch -j 2` against the shell loop an instructor
# writes today (xargs -P2 over `grader grade`), on the same generated class,
# in the same run (the machine is shared: compare the ratio, not the
# seconds).  Figures, not assertions.
#
#   sh tests/batch_bench.sh [N] [LAB]     (default: 200 submissions of tcp-hello)
#
# The class is made from fixtures/LAB: six in ten submissions are good ones,
# the rest cycle through the known bugs; each file gets a line naming its
# student, so that no two submissions are byte-for-byte the same.
set -u
n=${1:-200}
lab=${2:-tcp-hello}
jobs=2
grader=${GRADER:-build/grader}
[ -x "$grader" ] || { echo "build the grader first (make)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/batch-bench-XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM

goods=$(ls -d fixtures/"$lab"/good-* | tr '\n' ' ')
bugs=$(ls -d fixtures/"$lab"/bug-* | tr '\n' ' ')
ngood=$(echo $goods | wc -w)
nbug=$(echo $bugs | wc -w)
mkdir "$work/class"
i=0
while [ "$i" -lt "$n" ]; do
	if [ $((i % 10)) -lt 6 ]; then
		src=$(echo $goods | cut -d' ' -f$((i % ngood + 1)))
	else
		src=$(echo $bugs | cut -d' ' -f$((i % nbug + 1)))
	fi
	dst=$(printf '%s/class/student%03d' "$work" "$i")
	mkdir "$dst"
	for f in "$src"/*; do
		case "$f" in */expected.json) continue ;; esac
		{ cat "$f"; printf '/* student %03d */\n' "$i"; } >"$dst/$(basename "$f")"
	done
	i=$((i + 1))
done
echo "== $n submissions of $lab ($ngood good fixtures, $nbug bugs, 6 in 10 good), $jobs at a time, $(nproc) CPUs"
echo "   load before: $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s.%N; }

mkdir "$work/xargs"
start=$(now)
ls -d "$work"/class/* | xargs -P"$jobs" -I{} sh -c \
	'"$1" grade "$2" "$3" --format json --output "$4/$(basename "$3").json" >/dev/null 2>&1; true' \
	sh "$grader" "$lab" {} "$work/xargs"
end=$(now)
t_xargs=$(awk "BEGIN {printf \"%.1f\", $end - $start}")
echo "xargs -P$jobs + grader grade:  $t_xargs s  ($(ls "$work/xargs" | wc -l) results)"

start=$(now)
"$grader" batch "$lab" "$work/class" -j "$jobs" --output "$work/batch" >"$work/batch.out" 2>"$work/batch.log"
rc=$?
end=$(now)
t_batch=$(awk "BEGIN {printf \"%.1f\", $end - $start}")
echo "grader batch -j $jobs:          $t_batch s  ($(ls "$work/batch/results" | wc -l) results, exit $rc)"
sed 's/^/   /' "$work/batch.out"
grep -h ': error:' "$work/batch.log" | sed 's/^/   /'

start=$(now)
"$grader" batch "$lab" "$work/class" -j "$jobs" --output "$work/batch" >"$work/batch.out" 2>&1
end=$(now)
t_again=$(awk "BEGIN {printf \"%.1f\", $end - $start}")
echo "grader batch again (nothing changed; what ended in error is graded again): $t_again s"
grep 'kept from an earlier run' "$work/batch.out" | sed 's/^/   /'

echo "ratio batch / xargs: $(awk "BEGIN {printf \"%.2f\", $t_batch / $t_xargs}")"
echo "per submission: xargs $(awk "BEGIN {printf \"%.2f\", $t_xargs / $n}") s, batch $(awk "BEGIN {printf \"%.2f\", $t_batch / $n}") s"
echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The two must agree on every score.
diffs=0
for f in "$work"/xargs/*.json; do
	id=$(basename "$f" .json)
	a=$(sed -n 's/^  "score": \([0-9]*\),*$/\1/p' "$f")
	b=$(sed -n 's/^  "score": \([0-9]*\),*$/\1/p' "$work/batch/results/$id.json")
	[ "$a" = "$b" ] || { echo "score differs for $id: xargs $a, batch $b"; diffs=$((diffs + 1)); }
done
echo "scores that differ between the two: $diffs"
