#!/bin/sh
# The Docker image, tested as CI uses it.
#
#   sh tests/docker.sh               build the image, grade every fixture twice
#   sh tests/docker.sh --newcomer    also: README's two commands in a bare debian:bookworm
#   sh tests/docker.sh --no-build    use the ipc-grader image as it is
#
# Every fixture under fixtures/*/ is graded in a fresh container, once with
# Docker's default profile and once with the flags docker/README.md documents
# (docker/seccomp.json + systempaths=unconfined), and its verdicts are compared
# with its expected.json (a good-* fixture must pass every test).  A table
# shows each run's isolation mode, verdict counts and time.  Exit status: 0
# every verdict as expected, 1 a mismatch (or a newcomer command failed),
# 2 usage, 3 no Docker engine or no jq.
#
# The newcomer run starts from debian:bookworm with only build-essential and
# git, clones this repository (its committed HEAD), and runs `make example`
# and `make test` as root, with the default profile and with the flags.  The
# package installs need the network: set IPCGRADER_DOCKER_NET (default
# "host", where only the host reaches the mirror; "" for Docker's default
# network).  The grading itself always runs in Docker's own network
# namespace, never the host's.
#
# Environment: IPCGRADER_IMAGE (default ipc-grader), IPCGRADER_BASE (default
# debian:bookworm), IPCGRADER_DOCKER_NET, IPCGRADER_DOCKER_FLAGS (the isolation
# flags; default as in docker/README.md).
set -u
cd "$(dirname "$0")/.." || exit 3
ROOT=$(pwd)

IMAGE=${IPCGRADER_IMAGE:-ipc-grader}
BASE=${IPCGRADER_BASE:-debian:bookworm}
NET=${IPCGRADER_DOCKER_NET-host}
FLAGS=${IPCGRADER_DOCKER_FLAGS:---security-opt seccomp=$ROOT/docker/seccomp.json --security-opt systempaths=unconfined}
NETFLAG=${NET:+--network $NET}

build=1 newcomer=0
for a in "$@"; do
	case $a in
	--no-build) build=0 ;;
	--newcomer) newcomer=1 ;;
	*) echo "usage: sh tests/docker.sh [--no-build] [--newcomer]" >&2; exit 2 ;;
	esac
done

command -v docker >/dev/null && docker version >/dev/null 2>&1 || {
	echo "tests/docker.sh: no Docker engine answers (is dockerd running? see docker/README.md)" >&2
	exit 3
}
command -v jq >/dev/null || {
	echo "tests/docker.sh: needs jq (apt-get install jq)" >&2
	exit 3
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

work=$(mktemp -d /tmp/ipc-docker-test.XXXXXX) || exit 3
trap 'rm -rf "$work"' EXIT INT TERM

if [ $build -eq 1 ]; then
	t0=$(now)
	echo "== docker build $NETFLAG -f docker/Dockerfile -t $IMAGE ."
	# shellcheck disable=SC2086
	if ! docker build $NETFLAG -f docker/Dockerfile -t "$IMAGE" . >"$work/build.log" 2>&1; then
		tail -30 "$work/build.log"
		echo "tests/docker.sh: the image does not build" >&2
		exit 1
	fi
	echo "   built in $(secs "$t0" "$(now)") s"
fi
size=$(docker image inspect -f '{{.Size}}' "$IMAGE" 2>/dev/null) || { echo "tests/docker.sh: no image $IMAGE" >&2; exit 3; }
echo "   image $IMAGE: $((size / 1000000)) MB"

mismatches=0

# grade PROFILE FIXTURE -> one table row; mismatches counted.
grade() {
	profile=$1 fx=$2
	case $profile in
	default) flags= ;;
	flags) flags=$FLAGS ;;
	esac
	lab=$(basename "$(dirname "$fx")")
	name=$(basename "$fx")
	out=$work/$profile-$lab-$name.json
	t0=$(now)
	# shellcheck disable=SC2086
	docker run --rm $flags -v "$ROOT:/repo:ro" "$IMAGE" \
		grade "$lab" "/repo/$fx" --format json >"$out" 2>"$out.err"
	rc=$?
	t=$(secs "$t0" "$(now)")
	if ! jq -e .tests "$out" >/dev/null 2>&1; then
		printf '%-8s %-44s %-10s %4s %6s  %s\n' "$profile" "$lab/$name" "-" "$rc" "$t" \
			"MISMATCH: no JSON report: $(head -c 200 "$out.err" | tr '\n' ' ')"
		mismatches=$((mismatches + 1))
		return
	fi
	mode=$(jq -r .isolation.mode "$out")
	counts=$(jq -r '[.tests[].status] | group_by(.) | map("\(.[0])=\(length)") | join(",")' "$out")
	# Expected verdicts: expected.json's, or pass for every test of a good-*.
	if [ -f "$fx/expected.json" ]; then
		want=$(jq -c .tests "$fx/expected.json")
	else
		case $name in
		good-*) want=$(jq -c '[.tests[] | {key: .name, value: "pass"}] | from_entries' "$out") ;;
		*) want='{}' ;;
		esac
	fi
	bad=$(jq -r --argjson want "$want" \
		'[.tests[] | select($want[.name] != null and $want[.name] != .status) | "\(.name): \(.status), expected \($want[.name])"]
		 + ([$want | keys[]] - [.tests[].name] | map("\(.): missing from the report")) | join("; ")' "$out")
	if [ -n "$bad" ]; then
		mismatches=$((mismatches + 1))
		bad="MISMATCH: $bad"
	fi
	printf '%-8s %-44s %-10s %4s %6s  %s %s\n' "$profile" "$lab/$name" "$mode" "$rc" "$t" "$counts" "$bad"
}

echo
echo "== every fixture, one fresh container each"
echo "   default: docker run --rm IMAGE ..."
echo "   flags:   docker run --rm $FLAGS IMAGE ..."
printf '%-8s %-44s %-10s %4s %6s  %s\n' profile fixture isolation exit secs verdicts
T0=$(now)
for profile in default flags; do
	for fx in fixtures/*/*/; do
		fx=${fx%/}
		[ -d "$fx" ] || continue
		grade "$profile" "$fx"
	done
done
echo "   fixtures graded in $(secs "$T0" "$(now)") s; $mismatches mismatching run(s)"

# ---- the newcomer run ------------------------------------------------------
newcomer_failed=0
if [ $newcomer -eq 1 ]; then
	echo
	echo "== newcomer: $BASE + build-essential git, git clone, make example, make test (as root)"
	git clone -q --bare "$ROOT" "$work/repo.git" || exit 3
	nimg=ipc-grader-newcomer:test
	t0=$(now)
	# Step 1 needs the mirror: packages, then the clone and `make deps` (the
	# step both README commands start with).  Kept as an image so that both
	# profiles start from the same state.
	# shellcheck disable=SC2086
	docker rm -f ipc-grader-newcomer-setup >/dev/null 2>&1
	# shellcheck disable=SC2086
	if docker run $NETFLAG --name ipc-grader-newcomer-setup -v "$work/repo.git:/repo.git:ro" "$BASE" sh -c '
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq build-essential git >/dev/null &&
		git clone -q /repo.git /root/ipc-grader && cd /root/ipc-grader && make deps' >"$work/newcomer-setup.log" 2>&1; then
		docker commit ipc-grader-newcomer-setup "$nimg" >/dev/null
		echo "   apt-get install build-essential git + git clone + make deps: $(secs "$t0" "$(now)") s"
	else
		tail -20 "$work/newcomer-setup.log"
		echo "   newcomer set-up FAILED" >&2
		newcomer_failed=1
	fi
	docker rm -f ipc-grader-newcomer-setup >/dev/null 2>&1
	if [ $newcomer_failed -eq 0 ]; then
		for profile in default flags; do
			case $profile in default) flags= ;; flags) flags=$FLAGS ;; esac
			for cmd in "make example" "make test"; do
				log=$work/newcomer-$profile-$(echo "$cmd" | tr ' ' -).log
				t0=$(now)
				# shellcheck disable=SC2086
				docker run --rm $flags -w /root/ipc-grader "$nimg" sh -c "$cmd" >"$log" 2>&1
				rc=$?
				t=$(secs "$t0" "$(now)")
				# make example: its two reports' scores; make test: Check's summary lines.
				summary=$(grep -E '^[0-9]+%: Checks: |^score|^isolation: ' "$log" |
					sed 's/^\(isolation: [a-z]*\).*/\1/' | sort | uniq -c |
					sed 's/^ *//' | tr '\n' ';' | cut -c1-400)
				printf '   %-8s %-13s exit %-3s %6s s  %s\n' "$profile" "$cmd" "$rc" "$t" "$summary"
				if [ $rc -ne 0 ]; then
					newcomer_failed=1
					grep -E ':[FE]:|^make: \*\*\*' "$log" | cut -c1-200 | head -15 | sed 's/^/      /'
				fi
				cp "$log" "/tmp/$(basename "$log")" 2>/dev/null
			done
		done
		docker image rm "$nimg" >/dev/null 2>&1
		echo "   (full logs: /tmp/newcomer-*.log)"
	fi
fi

echo
if [ $mismatches -ne 0 ] || [ $newcomer_failed -ne 0 ]; then
	echo "tests/docker.sh: $mismatches fixture run(s) mismatched; newcomer run $([ $newcomer_failed -eq 0 ] && echo ok || echo FAILED)"
	exit 1
fi
echo "tests/docker.sh: every fixture graded as expected under both profiles"
