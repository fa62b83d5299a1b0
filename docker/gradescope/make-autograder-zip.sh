#!/bin/sh
# Makes the zip to upload as a Gradescope programming assignment's autograder:
#   sh docker/gradescope/make-autograder-zip.sh LAB [OPTION...] [-o autograder.zip]
# LAB is a lab under labs/ (e.g. tcp-hello); OPTIONs are passed to
# `grader grade` on every submission (e.g. --seed 3).  The zip holds, at its
# root as Gradescope wants: setup.sh, run_autograder, lab (the lab and its
# options) and ipc-grader/ (this repository's committed HEAD, `git archive`).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=autograder.zip
lab=""
opts=""
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	*) if [ -z "$lab" ]; then lab=$1; else opts="$opts $1"; fi; shift ;;
	esac
done
if [ -z "$lab" ]; then
	echo "usage: make-autograder-zip.sh LAB [OPTION...] [-o autograder.zip]" >&2
	exit 2
fi
if [ ! -f "$repo/labs/$lab/lab.yaml" ]; then
	echo "make-autograder-zip.sh: no lab \"$lab\" in $repo/labs" >&2
	exit 2
fi
case $out in /*) ;; *) out=$PWD/$out ;; esac
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$here/setup.sh" "$stage/setup.sh"
cp "$repo/docker/run_autograder" "$stage/run_autograder"
chmod 755 "$stage/setup.sh" "$stage/run_autograder"
printf '%s%s\n' "$lab" "$opts" >"$stage/lab"
mkdir "$stage/ipc-grader"
git -C "$repo" archive --format=tar HEAD | tar -x -C "$stage/ipc-grader"
rm -f "$out"
if command -v zip >/dev/null 2>&1; then
	(cd "$stage" && zip -qr "$out" setup.sh run_autograder lab ipc-grader)
else
	(cd "$stage" && python3 -m zipfile -c "$out" setup.sh run_autograder lab ipc-grader)
fi
echo "$out: $(du -k "$out" | cut -f1) KiB; upload it as the assignment's autograder (lab: $lab$opts)"
