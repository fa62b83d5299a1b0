#!/bin/sh
# Entry point of the ipc-grader image.
#   grade LAB DIR [options]   grade one submission (options as `grader grade`)
#   check [DIR]               a student's self-check (the visible tests), DIR default /work
#   validate LAB | list LAB   as the grader's own commands
#   run_autograder            Gradescope: /autograder/submission -> /autograder/results/results.json
#   doctor                    what isolation this container gives, and the remedy for each gap
#   help                      this text
# Anything else is run as a command (e.g. `bash`).
# The exit status is the grader's: 0 all passed, 1 something failed, 2 usage, 3 environment.
set -eu

usage() {
	sed -n '2,11s/^# \{0,1\}//p' "$0"
}

if [ $# -eq 0 ]; then
	usage
	exit 2
fi

cmd=$1
shift
case $cmd in
grade)
	if [ $# -lt 2 ]; then
		echo "ipc-grader: grade takes a LAB and a SUBMISSION_DIR (mounted into the container)" >&2
		exit 2
	fi
	exec grader grade "$@"
	;;
check)
	if [ $# -gt 1 ]; then
		echo "ipc-grader: check takes at most one DIR" >&2
		exit 2
	fi
	exec grader check "${1:-/work}"
	;;
validate | list)
	exec grader "$cmd" "$@"
	;;
run_autograder)
	exec /autograder/run_autograder "$@"
	;;
doctor)
	exec grader doctor
	;;
help | -h | --help)
	usage
	;;
*)
	exec "$cmd" "$@"
	;;
esac
