#!/bin/sh
# shellcheck disable=SC2030,SC2031 # the GitHub steps get their environment in a subshell, on purpose
# The CI examples of docs/ci/, run for real against the ipc-grader image.
#
#   sh tests/ci_examples.sh    (a Docker engine and the image: make docker)
#
# 1. Both files are YAML, with the structure their CI reads (python3-yaml).
# 2. GitHub Actions: the "Pull the grader" and "Grade" steps' scripts of
#    docs/ci/github-actions.yml run with bash -eo pipefail (as GitHub runs
#    them) in the runner's environment variables, on a repository holding a
#    fixture (`docker pull` is skipped: the image is local); the step's
#    status output, the JUnit report (xmllint against docs/schemas/junit.xsd),
#    its suite named after the repository, the last step's condition.
# 3. GitLab CI: the job's script lines of docs/ci/gitlab-ci.yml run in the
#    image with the runner flags its comment documents, in CI_PROJECT_DIR,
#    and the artifacts:reports:junit file is checked the same way.
#
# Cases: good-alt (status 0, no failure) and bug-slide-code (status 1, three
# failures).  Exit status: 0 as expected, 1 a mismatch, 3 no engine/image.
set -u
cd "$(dirname "$0")/.." || exit 3
IMAGE=${IPCGRADER_IMAGE:-ipc-grader}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
	echo "tests/ci_examples.sh: no image $IMAGE (make docker; a Docker engine: docker/README.md)" >&2
	exit 3
fi
work=$(mktemp -d /tmp/ci-examples-XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0
mismatch() {
	echo "  MISMATCH: $*"
	fails=$((fails + 1))
}

echo "== YAML of docs/ci"
"$PY" tests/formats/ci_yaml.py "$work" || fails=$((fails + 1))

# A `docker` that skips `pull` (the image is local) and runs the rest.
mkdir -p "$work/bin"
real_docker=$(command -v docker)
cat >"$work/bin/docker" <<EOF
#!/bin/sh
[ "\$1" = pull ] && { echo "(docker pull \$2 skipped: local image)"; exit 0; }
exec "$real_docker" "\$@"
EOF
chmod 755 "$work/bin/docker"

junit_ok() { # FILE SUITE FAILURES
	xmllint --noout --schema docs/schemas/junit.xsd "$1" 2>"$work/xmllint.log" || {
		mismatch "$1 is not valid JUnit: $(cat "$work/xmllint.log")"
		return
	}
	got=$(xmllint --xpath 'concat(/testsuites/testsuite/@name, " ", /testsuites/testsuite/@failures)' "$1")
	if [ "$got" != "$2 $3" ]; then
		mismatch "suite and failures \"$got\", expected \"$2 $3\""
		for name in $(xmllint --xpath '//testcase[failure or error]/@name' "$1" 2>/dev/null | sed 's/ name="\([^"]*\)"/\1 /g'); do
			echo "    $name: $(xmllint --xpath "string(//testcase[@name='$name']/*[self::failure or self::error]/@message)" "$1")"
		done
	fi
}

for case in good-alt:0:0 bug-slide-code:1:3; do
	fixture=${case%%:*} rest=${case#*:}
	want_status=${rest%%:*} want_failures=${rest#*:}

	echo "== GitHub Actions, fixtures/tcp-hello/$fixture"
	repo=$work/gh/$fixture/lab-alice.v2
	mkdir -p "$repo" "$work/gh/$fixture/tmp"
	cp "fixtures/tcp-hello/$fixture"/*.c "$repo/"
	: >"$work/gh/$fixture/output"
	(
		local_image=$IMAGE
		set -a
		# shellcheck disable=SC1091
		. "$work/env"
		set +a
		export IMAGE="$local_image" GITHUB_WORKSPACE="$repo" GITHUB_REPOSITORY=course/lab-alice.v2 \
			RUNNER_TEMP="$work/gh/$fixture/tmp" GITHUB_OUTPUT="$work/gh/$fixture/output" PATH="$work/bin:$PATH"
		cd "$repo" && bash --noprofile --norc -eo pipefail "$work/pull.sh" &&
			bash --noprofile --norc -eo pipefail "$work/grade.sh"
	) >"$work/gh.log" 2>&1 || { mismatch "a step failed:"; sed 's/^/    | /' "$work/gh.log"; }
	status=$(sed -n 's/^status=//p' "$work/gh/$fixture/output")
	echo "  step output status=$status; the last step $([ "$status" != 0 ] && echo fails || echo passes) the job"
	[ "$status" = "$want_status" ] || mismatch "status $status, expected $want_status"
	junit_ok "$work/gh/$fixture/tmp/results/junit.xml" tcp-hello.lab-alice_v2 "$want_failures"

	echo "== GitLab CI, fixtures/tcp-hello/$fixture"
	if ! grep -q 'cap_add = \["SYS_ADMIN", "NET_ADMIN"\]' docs/ci/gitlab-ci.yml ||
		! grep -q 'security_opt = \["seccomp=/etc/gitlab-runner/ipc-grader-seccomp.json", "apparmor=unconfined"\]' \
			docs/ci/gitlab-ci.yml; then
		mismatch "the runner flags in docs/ci/gitlab-ci.yml changed: update this test"
	fi
	project=$work/gl/$fixture/lab-bob
	mkdir -p "$project"
	cp "fixtures/tcp-hello/$fixture"/*.c "$project/"
	docker run --rm --entrypoint cat "$IMAGE" /usr/local/share/ipc-grader/seccomp.json >"$work/seccomp.json"
	# shellcheck disable=SC2046
	docker run --rm --network none --cap-add SYS_ADMIN --cap-add NET_ADMIN \
		--security-opt seccomp="$work/seccomp.json" --security-opt apparmor=unconfined \
		--entrypoint "" $(sed 's/^/-e /' "$work/gitlab.env") -e CI_PROJECT_DIR=/builds/course/lab-bob \
		-v "$project:/builds/course/lab-bob" -v "$work/gitlab.sh:/job.sh:ro" -w /builds/course/lab-bob \
		"$IMAGE" sh -e /job.sh >"$work/gl.log" 2>&1
	rc=$?
	echo "  job exit $rc"
	[ "$rc" = "$want_status" ] || { mismatch "job exit $rc, expected $want_status"; tail -5 "$work/gl.log"; }
	junit_ok "$project/junit.xml" tcp-hello.lab-bob "$want_failures"
done

if [ "$fails" -gt 0 ]; then
	echo "tests/ci_examples.sh: $fails mismatch(es)"
	exit 1
fi
echo "tests/ci_examples.sh: both examples work as documented"
