#!/bin/sh
# The Gradescope recipe, run as Gradescope runs it.
#
#   sh tests/gradescope.sh              build the image (make docker), then every case below in it
#   sh tests/gradescope.sh --no-build   use the ipc-grader image as it is
#   sh tests/gradescope.sh --setup      also Gradescope's own build: autograder.zip from
#                                       docker/gradescope/make-autograder-zip.sh, unpacked into
#                                       /autograder/source of a bare debian:bookworm, its setup.sh
#                                       run there (the one step with the network), committed;
#                                       then the same cases in that image
#
# Each case is a fresh container laid out as Gradescope lays one out: the
# submission's files in /autograder/submission, the lab's name in
# /autograder/source/lab, /autograder/results, the working folder
# /autograder, and /autograder/run_autograder run with no arguments.  Its
# results.json is then checked against Gradescope's specification
# (docs/schemas/gradescope-results.schema.json, with python3-jsonschema)
# and against what the case must give:
#
#   good     fixtures/tcp-hello/good-alt, isolated (flag set B of docker/README.md):
#            every test passed, full score, exit 0
#   bugs     fixtures/tcp-hello/bug-slide-code, isolated: every test's status is its
#            expected.json's, the score the sum of the passed tests' points, exit 0
#   build    fixtures/tcp-hello/bug-build-fails, isolated: the compiler's error in the
#            student's output, every test "NOT RUN", score 0, exit 0
#   refused  good-alt without the flags (as Gradescope starts containers, as far as we
#            know): the grader refuses to run unisolated; results.json still written,
#            status error, "not of your code", `grader doctor` on stdout, exit 3
#   nolab    no /autograder/source/lab: results.json says so, exit 2
#
# Exit status: 0 every case as expected, 1 a mismatch, 2 usage, 3 no engine.
# Environment: IPCGRADER_IMAGE (default ipc-grader), IPCGRADER_BASE (default
# debian:bookworm), IPCGRADER_DOCKER_NET (default host: the network of the
# build and of setup.sh only), IPCGRADER_FLAGS_B.
set -u
cd "$(dirname "$0")/.." || exit 3
ROOT=$(pwd)
IMAGE=${IPCGRADER_IMAGE:-ipc-grader}
BASE=${IPCGRADER_BASE:-debian:bookworm}
NET=${IPCGRADER_DOCKER_NET-host}
NETFLAG=${NET:+--network $NET}
FLAGS_B=${IPCGRADER_FLAGS_B:---cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=$ROOT/docker/seccomp.json}
SCHEMA=docs/schemas/gradescope-results.schema.json
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

build=1 setup=0
for a in "$@"; do
	case $a in
	--no-build) build=0 ;;
	--setup) setup=1 ;;
	*) echo "usage: sh tests/gradescope.sh [--no-build] [--setup]" >&2; exit 2 ;;
	esac
done
if ! command -v docker >/dev/null || ! docker version >/dev/null 2>&1; then
	echo "tests/gradescope.sh: no Docker engine answers (is dockerd running? see docker/README.md)" >&2
	exit 3
fi
"$PY" -c 'import jsonschema' 2>/dev/null || {
	echo "tests/gradescope.sh: needs python3-jsonschema (sh tests/deps.sh)" >&2
	exit 3
}

work=$(mktemp -d /tmp/gradescope-test-XXXXXX)
cleanup() {
	rm -rf "$work"
	[ -n "${setup_ctr:-}" ] && docker rm -f "$setup_ctr" >/dev/null 2>&1
	return 0
}
trap cleanup EXIT
fails=0
log() { printf '%s\n' "$*"; }

if [ "$build" = 1 ]; then
	log "== docker build -t $IMAGE"
	# shellcheck disable=SC2086
	docker build $NETFLAG -q -f docker/Dockerfile -t "$IMAGE" . >"$work/build.log" 2>&1 || {
		cat "$work/build.log"
		exit 1
	}
fi

# What a case's results.json must say, beyond Gradescope's schema (python,
# so as to read JSON properly).  argv: results.json case [expected.json]
check_results() {
	"$PY" - "$@" <<'PY'
import json, sys
path, case = sys.argv[1], sys.argv[2]
r = json.load(open(path, encoding="utf-8"))
tests, out, extra = r["tests"], r["output"], r.get("extra_data", {})
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
if case == "good":
    want(extra.get("status") == "passed", "status %r, not passed" % extra.get("status"))
    want(all(t["status"] == "passed" for t in tests), "a test did not pass")
    want(r["score"] == sum(t["max_score"] for t in tests), "score %s is not full" % r["score"])
    want(extra.get("isolation", {}).get("mode") == "namespaces", "not isolated")
elif case == "bugs":
    expected = json.load(open(sys.argv[3]))["tests"]
    got = {t["name"]: t.get("extra_data", {}).get("status") for t in tests}
    for t in tests:
        name, status = t["name"], t.get("extra_data", {}).get("status")
        want(expected.get(name) == status, "%s: %s, expected %s: %s" % (name, status, expected.get(name),
                                                                         t["output"].splitlines()[0][:200]))
    want(set(got) == set(expected), "tests %s, expected %s" % (sorted(got), sorted(expected)))
    want(r["score"] == sum(t["max_score"] for t in tests if t["status"] == "passed"), "score")
    hidden = [t for t in tests if "hidden" in t["tags"]]
    want(hidden and all(t["visibility"] == "after_published" for t in hidden), "hidden tests visible")
    want(any(t["output"].startswith("CRASHED:") for t in tests), "no test output starts with CRASHED:")
elif case == "build":
    want(extra.get("status") == "build_failed", "status %r" % extra.get("status"))
    want("did not build" in out and "error:" in out, "no compiler error in the output")
    want(all(t["output"].startswith("NOT RUN:") for t in tests), "a test is not NOT RUN")
    want(r["score"] == 0, "score")
elif case in ("refused", "nolab"):
    want(extra.get("status") == "error", "status %r" % extra.get("status"))
    want("not of your code" in out, "the output blames nobody? %r" % out[:200])
    want(r["score"] == 0 and len(tests) == 1 and tests[0]["name"].startswith("Autograder error"), "tests")
    if case == "refused":
        want("without isolation" in out, "the reason is not in the output")
for p in problems:
    print("    " + p)
sys.exit(1 if problems else 0)
PY
}

# run_case IMAGE NAME FIXTURE FLAGS EXPECTED_EXIT
run_case() {
	image=$1 name=$2 fixture=$3 flags=$4 want_rc=$5
	dir=$work/$name
	mkdir -p "$dir/submission" "$dir/source" "$dir/results"
	[ -n "$fixture" ] && cp "$fixture"/*.c "$dir/submission/"
	[ "$name" != nolab ] && echo tcp-hello >"$dir/source/lab"
	chmod -R a+rwX "$dir"
	start=$(date +%s.%N)
	# shellcheck disable=SC2086
	docker run --rm --network none $flags -w /autograder \
		-v "$dir/submission:/autograder/submission" -v "$dir/source:/autograder/source:ro" \
		-v "$dir/results:/autograder/results" --entrypoint /autograder/run_autograder \
		"$image" >"$dir/stdout" 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	res=$dir/results/results.json
	verdict=OK
	if [ "$rc" != "$want_rc" ]; then
		verdict="MISMATCH (exit $rc, expected $want_rc)"
		[ -s "$res" ] && check_results "$res" "$name" "$fixture/expected.json" >"$dir/check.log" 2>&1
	elif [ ! -s "$res" ]; then
		verdict="MISMATCH (no results.json)"
	elif ! "$PY" tests/formats/json_valid.py "$SCHEMA" "$res" >"$dir/schema.log" 2>&1; then
		verdict="MISMATCH (not Gradescope's format)"
	elif ! check_results "$res" "$name" "$fixture/expected.json" >"$dir/check.log" 2>&1; then
		verdict="MISMATCH (content)"
	elif [ "$name" = refused ] && ! grep -q '^sandbox' "$dir/stdout"; then
		verdict="MISMATCH (no grader doctor on stdout)"
	fi
	size=$(wc -c <"$res" 2>/dev/null || echo 0)
	printf '  %-8s %-10s exit %s  %6s s  results.json %7s bytes  %s\n' "$name" "$(basename "$image")" "$rc" \
		"$secs" "$size" "$verdict"
	case $verdict in
	OK) ;;
	*)
		fails=$((fails + 1))
		sed 's/^/    | /' "$dir/schema.log" "$dir/check.log" 2>/dev/null
		tail -n 20 "$dir/stdout" | sed 's/^/    stdout| /'
		;;
	esac
	rm -rf "$dir"
}

run_all() {
	log "== run_autograder in $1"
	run_case "$1" good fixtures/tcp-hello/good-alt "$FLAGS_B" 0
	run_case "$1" bugs fixtures/tcp-hello/bug-slide-code "$FLAGS_B" 0
	run_case "$1" build fixtures/tcp-hello/bug-build-fails "$FLAGS_B" 0
	run_case "$1" refused fixtures/tcp-hello/good-alt "" 3
	run_case "$1" nolab fixtures/tcp-hello/good-alt "$FLAGS_B" 2
}

run_all "$IMAGE"

if [ "$setup" = 1 ]; then
	log "== Gradescope's build: autograder.zip, setup.sh in a bare $BASE"
	sh docker/gradescope/make-autograder-zip.sh tcp-hello -o "$work/autograder.zip" || exit 1
	mkdir -p "$work/source"
	(cd "$work/source" && unzip -q ../autograder.zip) || exit 1
	setup_ctr=ipcgrader-gradescope-setup-$$
	start=$(date +%s)
	# shellcheck disable=SC2086
	if docker run --name "$setup_ctr" $NETFLAG -v "$work/source:/zip:ro" "$BASE" \
		sh -c 'mkdir -p /autograder && cp -R /zip /autograder/source && cd /autograder/source && bash ./setup.sh' \
		>"$work/setup.log" 2>&1; then
		log "  setup.sh: ok in $(($(date +%s) - start)) s (zip $(wc -c <"$work/autograder.zip") bytes)"
		docker commit "$setup_ctr" ipc-grader-gradescope >/dev/null
		run_all ipc-grader-gradescope
	else
		log "  setup.sh: FAILED"
		tail -n 30 "$work/setup.log" | sed 's/^/    | /'
		fails=$((fails + 1))
	fi
fi

if [ "$fails" -gt 0 ]; then
	log "tests/gradescope.sh: $fails case(s) not as expected"
	exit 1
fi
log "tests/gradescope.sh: every case as expected"
