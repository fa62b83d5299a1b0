#!/bin/sh
# The Docker image, tested as CI uses it.
#
#   sh tests/docker.sh                 build the image, grade every fixture under three flag sets
#   sh tests/docker.sh --newcomer      also: README's two commands in a bare debian:bookworm
#   sh tests/docker.sh --no-build      use the ipc-grader image as it is
#   sh tests/docker.sh --no-fixtures   skip the fixtures (with --newcomer: only the newcomer run)
#
# Every fixture fixtures/*/good-* and fixtures/*/bug-* is graded in fresh
# containers, all on `--network none`, under three flag sets:
#
#   A        --security-opt seccomp=docker/seccomp.json --security-opt systempaths=unconfined
#   B        --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=docker/seccomp.json
#   default  no flags: Docker's default profile, no namespaces for the grader
#
# Under A and B the report must say isolation.mode "namespaces" and every
# verdict must be expected.json's (a good-* fixture must pass every test).
# Under the default profile `grader grade` must refuse (exit 3, "refusing to
# run a submission without isolation", naming `grader doctor`, a JSON report
# whose status is error and which says so), and
# `grader grade --allow-unisolated` must give, for every test, the expected
# verdict or `error` (a port still in use without namespaces is the machine's
# fault, never the student's), never another one.  In every case the exit
# status must agree with the verdicts (0 all pass, 1 a non-pass, 3 an error).
# A table (fixture x flag set) and timings are printed at the end.
#
# Exit status: 0 everything as expected, 1 a mismatch (or a newcomer check
# failed), 2 usage, 3 no Docker engine or no jq.
#
# The newcomer run starts from debian:bookworm with only build-essential and
# git, clones this repository (its committed HEAD), runs `make deps` (the one
# step with the network: IPCGRADER_DOCKER_NET, default "host", where only the
# host reaches the mirror), commits that container to an image, and from it
# runs `make example` and `make test` as root on `--network none`: with flag
# set B (expected: both reports isolated, every Check suite 100%) and with the
# default profile (expected: `make example` prints the refusal for each
# fixture; `make test` stops at once, non-zero, with "make test needs the
# sandbox's namespaces" and `grader doctor`'s output, before any suite runs).
#
# Environment: IPCGRADER_IMAGE (default ipc-grader), IPCGRADER_BASE (default
# debian:bookworm), IPCGRADER_DOCKER_NET, IPCGRADER_FLAGS_A, IPCGRADER_FLAGS_B
# (defaults as above and in docker/README.md).
set -u
cd "$(dirname "$0")/.." || exit 3
ROOT=$(pwd)

IMAGE=${IPCGRADER_IMAGE:-ipc-grader}
BASE=${IPCGRADER_BASE:-debian:bookworm}
NET=${IPCGRADER_DOCKER_NET-host}
FLAGS_A=${IPCGRADER_FLAGS_A:---security-opt seccomp=$ROOT/docker/seccomp.json --security-opt systempaths=unconfined}
FLAGS_B=${IPCGRADER_FLAGS_B:---cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=$ROOT/docker/seccomp.json}
NETFLAG=${NET:+--network $NET}
PROFILES="A B default"
REFUSAL="refusing to run a submission without isolation"

build=1 newcomer=0 fixtures=1
for a in "$@"; do
	case $a in
	--no-build) build=0 ;;
	--newcomer) newcomer=1 ;;
	--no-fixtures) fixtures=0 ;;
	*) echo "usage: sh tests/docker.sh [--no-build] [--newcomer] [--no-fixtures]" >&2; exit 2 ;;
	esac
done

if ! command -v docker >/dev/null || ! docker version >/dev/null 2>&1; then
	echo "tests/docker.sh: no Docker engine answers (is dockerd running? see docker/README.md)" >&2
	exit 3
fi
command -v jq >/dev/null || {
	echo "tests/docker.sh: needs jq (apt-get install jq)" >&2
	exit 3
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }
flags_of() {
	case $1 in
	A) echo "$FLAGS_A" ;;
	B) echo "$FLAGS_B" ;;
	default) echo "" ;;
	esac
}

work=$(mktemp -d /tmp/ipc-docker-test.XXXXXX) || exit 3
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

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

# run_grade PROFILE FIXTURE OUT [grader options...]: one fresh container; sets rc and t.
run_grade() {
	rp=$1 rfx=$2 rout=$3
	shift 3
	t0=$(now)
	# shellcheck disable=SC2046
	docker run --rm --network none $(flags_of "$rp") -v "$ROOT:/repo:ro" "$IMAGE" \
		grade "$(basename "$(dirname "$rfx")")" "/repo/$rfx" "$@" >"$rout" 2>"$rout.err"
	rc=$?
	t=$(secs "$t0" "$(now)")
}

# check_report FIXTURE OUT MODE RC LENIENT: sets counts and bad ("" when all is as expected).
# LENIENT=1: `error` is accepted in place of any expected verdict.
check_report() {
	cfx=$1 cout=$2 cmode=$3 crc=$4 lenient=$5
	bad=
	counts=-
	if ! jq -e '.tests | type == "array"' "$cout" >/dev/null 2>&1; then
		bad="no JSON report (exit $crc): $(head -c 300 "$cout.err" | tr '\n' ' ')"
		return
	fi
	counts=$(jq -r '[.tests[].status] | group_by(.) | map("\(.[0])=\(length)") | join(",")' "$cout")
	mode=$(jq -r .isolation.mode "$cout")
	[ "$mode" = "$cmode" ] || bad="isolation.mode $mode ($(jq -r .isolation.detail "$cout" | cut -c1-160)), expected $cmode; "
	if [ -f "$cfx/expected.json" ]; then
		want=$(jq -c .tests "$cfx/expected.json")
	else
		case $(basename "$cfx") in
		good-*) want=$(jq -c '[.tests[] | {key: .name, value: "pass"}] | from_entries' "$cout") ;;
		*) want='{}' ;;
		esac
	fi
	diff=$(jq -r --argjson want "$want" --argjson lenient "$lenient" '
		[.tests[] | select($want[.name] == null) | "\(.name): \(.status), not in expected.json"]
		+ [.tests[] | select($want[.name] != null and $want[.name] != .status
			and ($lenient == 0 or .status != "error"))
		  | "\(.name): \(.status), expected \($want[.name])\(if $lenient == 1 then " or error" else "" end)"]
		+ ([$want | keys[]] - [.tests[].name] | map("\(.): missing from the report"))
		| join("; ")' "$cout")
	[ -n "$diff" ] && bad="$bad$diff; "
	# The exit status the verdicts call for: 3 an error, 1 another non-pass, 0 all pass.
	wrc=$(jq -r '[.tests[].status] as $s | if any($s[]; . == "error") then 3
		elif any($s[]; . != "pass") then 1 else 0 end' "$cout")
	[ "$crc" = "$wrc" ] || bad="${bad}exit $crc, the verdicts call for $wrc; "
	bad=${bad%; }
}

# grade PROFILE FIXTURE: one or two fresh containers; one progress line; result in $work/cells.
grade() {
	profile=$1 fx=$2
	key=$(echo "$fx" | tr / _)
	out=$work/$profile-$key.json
	case $profile in
	A | B)
		run_grade "$profile" "$fx" "$out" --format json
		check_report "$fx" "$out" namespaces "$rc" 0
		tt=$t
		note="exit $rc, $counts"
		;;
	default)
		# 1. refused: exit 3, the message, and a JSON report that says so
		#    (status error, the refusal as its error, no test run).
		run_grade default "$fx" "$out.refused" --format json
		t1=$t
		bad1=
		[ "$rc" -eq 3 ] || bad1="grade exit $rc, expected 3 (refusal); "
		grep -q "$REFUSAL" "$out.refused.err" || bad1="${bad1}no \"$REFUSAL\" on stderr; "
		grep -q 'grader doctor' "$out.refused.err" || bad1="${bad1}stderr does not name grader doctor; "
		jq -e --arg r "$REFUSAL" '.status == "error" and (.tests | length) == 0 and (.error | contains($r))' \
			"$out.refused" >/dev/null 2>&1 || bad1="${bad1}the report does not say it refused (status error, no tests); "
		# 2. --allow-unisolated: expected verdict or error, test by test.
		run_grade default "$fx" "$out" --allow-unisolated --format json
		check_report "$fx" "$out" none "$rc" 1
		[ -n "$bad1" ] && bad="$bad1$bad"
		bad=${bad%; }
		tt=$(add "$t1" "$t")
		note="refused (exit 3) in ${t1}s; --allow-unisolated: exit $rc, $counts"
		;;
	esac
	if [ -n "$bad" ]; then
		mismatches=$((mismatches + 1))
		cell="MISMATCH"
		echo "$fx|$profile|$bad" >>"$work/details"
	else
		cell="OK"
		[ "$profile" = default ] && case $counts in *error=*) cell="OK(err=$(echo "$counts" | sed 's/.*error=\([0-9]*\).*/\1/'))" ;; esac
	fi
	echo "$fx|$profile|$cell|$tt" >>"$work/cells"
	printf '%-8s %-46s %-12s %6s s  %s\n' "$profile" "$fx" "$cell" "$tt" "$note"
	[ -n "$bad" ] && printf '         %s\n' "$bad"
}

if [ $fixtures -eq 1 ]; then
	echo
	echo "== every fixture, fresh containers, --network none"
	for p in $PROFILES; do printf '   %-8s docker run --rm --network none %s %s ...\n' "$p" "$(flags_of "$p")" "$IMAGE"; done
	: >"$work/cells"
	: >"$work/details"
	for profile in $PROFILES; do
		T0=$(now)
		for fx in fixtures/*/good-* fixtures/*/bug-*; do
			[ -d "$fx" ] || continue
			grade "$profile" "$fx"
		done
		echo "$profile" "$(secs "$T0" "$(now)")" >>"$work/ptimes"
	done

	echo
	echo "== fixture x flag set (OK: as expected; OK(err=N): N tests error without namespaces; seconds per fixture)"
	printf '%-46s' fixture
	for p in $PROFILES; do printf ' %-22s' "$p"; done
	echo
	for fx in fixtures/*/good-* fixtures/*/bug-*; do
		[ -d "$fx" ] || continue
		printf '%-46s' "$fx"
		for p in $PROFILES; do
			c=$(awk -F'|' -v f="$fx" -v p="$p" '$1 == f && $2 == p { printf "%s %ss", $3, $4 }' "$work/cells")
			printf ' %-22s' "$c"
		done
		echo
	done
	printf '%-46s' "total seconds"
	for p in $PROFILES; do printf ' %-22s' "$(awk -v p="$p" '$1 == p { print $2 }' "$work/ptimes")"; done
	echo
	if [ -s "$work/details" ]; then
		echo
		echo "== mismatches"
		sed 's/^\([^|]*\)|\([^|]*\)|/\2 \1: /' "$work/details"
	fi
	echo "   $mismatches mismatching fixture run(s)"
fi

# ---- the newcomer run ------------------------------------------------------
newcomer_failed=0
# expect LOG COND MESSAGE: COND a shell test on the log; failure noted.
nfail() {
	newcomer_failed=1
	echo "      NOT AS EXPECTED: $1"
}
if [ $newcomer -eq 1 ]; then
	echo
	echo "== newcomer: $BASE + build-essential git, git clone, make deps; then make example, make test (as root, --network none)"
	git clone -q --bare "$ROOT" "$work/repo.git" || exit 3
	nimg=ipc-grader-newcomer:test
	t0=$(now)
	# Only this step has the network (the mirror); it is committed to an image
	# so that every run below starts from the same state, without the network.
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
		for profile in B default; do
			for cmd in "make example" "make test"; do
				log=$work/newcomer-$profile-$(echo "$cmd" | tr ' ' -).log
				t0=$(now)
				# shellcheck disable=SC2046
				docker run --rm --network none $(flags_of "$profile") -w /root/ipc-grader "$nimg" \
					sh -c "$cmd" >"$log" 2>&1
				rc=$?
				t=$(secs "$t0" "$(now)")
				printf '   %-8s %-13s exit %-3s %6s s\n' "$profile" "$cmd" "$rc" "$t"
				grep -E '^[0-9]+%: Checks: |^score|^isolation: |^== ' "$log" |
					sed 's/^\(isolation: [a-z]*\).*/\1/' | sed 's/^/      /'
				nref=$(grep -c "$REFUSAL" "$log")
				nsuites=$(grep -cE '^[0-9]+%: Checks: ' "$log")
				nfull=$(grep -cE '^100%: Checks: [0-9]+, Failures: 0, Errors: 0' "$log")
				case $profile-$cmd in
				"B-make example")
					[ "$rc" -eq 0 ] || nfail "exit $rc"
					[ "$(grep -c '^isolation: namespaces' "$log")" -eq 2 ] || nfail "not two reports with isolation: namespaces"
					;;
				"B-make test")
					[ "$rc" -eq 0 ] || nfail "exit $rc"
					{ [ "$nsuites" -gt 0 ] && [ "$nsuites" -eq "$nfull" ]; } || nfail "$nfull of $nsuites suites at 100%"
					;;
				"default-make example")
					[ "$nref" -eq 2 ] || nfail "the refusal printed $nref times, expected 2 (one per fixture)"
					grep -q '^isolation: ' "$log" && nfail "a report although refused"
					;;
				"default-make test")
					[ "$rc" -ne 0 ] || nfail "exit 0"
					grep -q "make test needs the sandbox's namespaces" "$log" || nfail "no \"make test needs the sandbox's namespaces\""
					grep -q '^  sandbox ' "$log" || nfail "no grader doctor output"
					[ "$nsuites" -eq 0 ] || nfail "$nsuites suites ran; expected none"
					sed -n "/make test needs the sandbox's namespaces/,\$p" "$log" | sed 's/^/      | /'
					;;
				esac
				[ "$profile" = default ] && [ "$cmd" = "make example" ] && grep "$REFUSAL" "$log" | cut -c1-240 | sed 's/^/      | /'
				if [ $rc -ne 0 ] && [ "$profile" != default ]; then
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
echo "tests/docker.sh: every fixture as expected under flag sets $PROFILES$([ $newcomer -eq 1 ] && echo '; newcomer run as expected')"
