#!/bin/sh
# The Slurm job-array script of docs/scale-out/ run as Slurm would run it
# (RUNTIME=host, one task per shard, here one after the other), its shards
# merged, and the gradebook compared with an unsharded run of the same class.
#   sh tests/scale_out.sh          (after make; about 10 s)
set -u
work=$(mktemp -d "${TMPDIR:-/tmp}/scale-out-XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/bin" "$work/class"
ln -s "$PWD/build/grader" "$work/bin/grader"
for i in 0 1 2 3 4 5 6 7 8 9; do
	mkdir "$work/class/student$i"
	word=hello
	[ $((i % 4)) -eq 0 ] && word=bye
	printf '#include <stdio.h>\nint main(void) { puts("%s"); return 0; }\n' "$word" >"$work/class/student$i/hello.c"
done
fail=0
for k in 0 1 2; do
	PATH="$work/bin:$PATH" LAB=tests/batch/lab CLASS="$work/class" OUT="$work/grades" RUNTIME=host \
		SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=2 \
		bash docs/scale-out/slurm-array.sh >"$work/task$k.log" 2>&1 || { echo "task $k failed:"; cat "$work/task$k.log"; fail=1; }
done
build/grader merge --output "$work/grades/all" "$work"/grades/shard-* || fail=1
build/grader batch tests/batch/lab "$work/class" --output "$work/whole" >/dev/null 2>&1 || fail=1
if cmp -s "$work/grades/all/grades.csv" "$work/whole/grades.csv"; then
	echo "ok: 3 Slurm tasks merged give the unsharded gradebook ($(($(wc -l <"$work/whole/grades.csv") - 1)) submissions)"
else
	echo "FAIL: the merged gradebook differs from the unsharded one"
	diff "$work/grades/all/grades.csv" "$work/whole/grades.csv"
	fail=1
fi
exit $fail
