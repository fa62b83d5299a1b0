#!/bin/sh
# The class report (grader report), checked as a person would see it:
#   1. grade a few tcp-hello fixtures (--format json) and lay their results out
#      as a batch folder does (docs/batch.md: results/<file>.json with a
#      "batch" object), copied under several students' ids to make a class,
#      one of them with a hostile id and a hostile failure message;
#   2. grader report BATCH_DIR --output report.html;
#   3. headless Chromium loads it (--dump-dom): the plots are there, the page
#      asked for nothing over the network, the hostile strings show as text
#      (no <script> or onerror element of theirs in the DOM); a screenshot is
#      saved for a person to look at.
# Skips (exit 0, saying so) when Chromium is not installed:
#   apt-get install -y chromium
# Usage: sh tests/class_report.sh [SCREENSHOT.png]   (run from the repository)
# KEEP_BATCH=DIR keeps the batch folder it made there (to look at, or iterate).
set -u
cd "$(dirname "$0")/.." || exit 2
shot=${1:-build/class-report.png}
G=build/grader
[ -x "$G" ] || { echo "class_report: run make first" >&2; exit 2; }
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

work=$(mktemp -d /tmp/class-report-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
batch=$work/batch
mkdir -p "$batch/results"

# 1. Real results of a few fixtures, two gradings at a time.
fixtures="good-reference good-alt bug-slide-code bug-build-fails bug-no-listen bug-wrong-reply bug-client-overflow bug-exits-after-first-client"
set -- $fixtures
while [ $# -gt 0 ]; do
	for f in $1 ${2:-}; do
		TMPDIR=$work $G grade tcp-hello "fixtures/tcp-hello/$f" --format json --quiet --output "$work/$f.json" \
			>/dev/null 2>"$work/$f.err" &
	done
	wait
	shift; [ $# -gt 0 ] && shift
done
for f in $fixtures; do
	[ -s "$work/$f.json" ] || { bad "grading $f gave no JSON: $(cat "$work/$f.err")"; exit 1; }
done
ok "graded $(echo $fixtures | wc -w) fixtures"
# A hostile failure message, common enough to be among the most common.
sed -i "s/\"message\": \"your server's stdout has no line matching[^\"]*\"/\"message\": \"<script>alert(3)<\\\\\/script> \\\\u202e evil\"/" \
	"$work/bug-slide-code.json"
grep -q 'alert(3)' "$work/bug-slide-code.json" || bad "the hostile message was not planted"

# A class of 37: each of 36 students gets one fixture's result under their id (the
# "batch" object batch adds).  Most are good, some have each bug.
n=0
for f in good-reference good-alt good-reference good-alt good-reference bug-slide-code bug-slide-code \
	bug-build-fails bug-no-listen bug-wrong-reply bug-client-overflow bug-exits-after-first-client; do
	for k in 1 2 3; do
		n=$((n + 1))
		id=$(printf 'student%02d' "$n")
		sed "1s/^{/{\"batch\": {\"id\": \"$id\", \"state\": \"graded\"},/" "$work/$f.json" > "$batch/results/$id.json"
	done
done
# The hostile one: its id is markup.
hostile='<script>alert(1)<\/script><img src=x onerror=alert(2)>'
sed -e "1s/^{/{\"batch\": {\"id\": \"$hostile\", \"state\": \"graded\"},/" \
    "$work/bug-slide-code.json" > "$batch/results/hostile%3Cscript%3E.json"
echo '{ this is not json' > "$batch/results/broken.json"
total=$(ls "$batch/results" | wc -l)
[ -n "${KEEP_BATCH:-}" ] && rm -rf "$KEEP_BATCH" && cp -R "$batch" "$KEEP_BATCH"

# 2. The report.
out=$($G report "$batch" --output "$work/report.html" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "grader report: $out" || bad "grader report exit $rc: $out"
html=$work/report.html
[ -s "$html" ] || { bad "no report written"; exit 1; }
grep -q "$((total - 1)) submissions" "$html" && ok "the report counts $((total - 1)) submissions" ||
	bad "the report does not say $((total - 1)) submissions"
grep -q 'broken.json' "$html" && ok "the unreadable result is named" || bad "the unreadable result is not named"
# Offline: no URL in any src or href, no script element, nothing linked.
if grep -Eio '(src|href)=["'"'"']?[a-z]+:' "$html" | grep -v 'data:' | head -3 | grep -q .; then
	bad "the page links to something outside itself"
else
	ok "no src/href to another document"
fi
grep -qi '<script' "$html" && bad "a <script> element in the page" || ok "no <script> element"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;' "$html" &&
	ok "the hostile id is shown escaped" || bad "the hostile id is not shown escaped"
grep -q '&lt;script&gt;alert(3)&lt;/script&gt; \\u{202E} evil' "$html" &&
	ok "the hostile message is shown escaped, its bidi override visible" || bad "the hostile message is not escaped"

# 3. In a browser.
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
	echo "skip the browser checks: Chromium is not installed (apt-get install -y chromium)"
	[ $fails -eq 0 ] && exit 0 || exit 1
fi
# A fresh profile, no network: any request would fail and show in the log.
flags="--headless --no-sandbox --disable-gpu --user-data-dir=$work/profile --no-first-run
	--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars"
$chrome $flags --dump-dom "file://$html" > "$work/dom.html" 2>"$work/chrome.log"
[ -s "$work/dom.html" ] || { bad "Chromium rendered nothing: $(tail -3 "$work/chrome.log")"; exit 1; }
svgs=$(grep -o '<svg' "$work/dom.html" | wc -l)
[ "$svgs" -ge 3 ] && ok "$svgs plots (svg) in the rendered page" || bad "only $svgs svg plots in the rendered page"
rects=$(grep -o '<rect' "$work/dom.html" | wc -l)
[ "$rects" -ge 20 ] && ok "$rects bars drawn" || bad "only $rects bars drawn"
grep -qi '<script' "$work/dom.html" && bad "a <script> element in the rendered DOM" || ok "no <script> element in the DOM"
grep -qi '<img' "$work/dom.html" && bad "an <img> element in the rendered DOM" || ok "no <img> element in the DOM"
grep -q 'onerror=alert(2)' "$work/dom.html" && ok "the hostile id is text in the DOM" || bad "the hostile id is missing from the DOM"
if grep -Ei 'net::|ERR_|Refused to load' "$work/chrome.log" | grep -v 'ERR_NO_PROCESS\|gpu\|dbus\|GCM' | head -3 | grep -q .; then
	bad "Chromium tried to fetch something: $(grep -Ei 'net::|ERR_|Refused' "$work/chrome.log" | head -3)"
else
	ok "Chromium fetched nothing"
fi
mkdir -p "$(dirname "$shot")"
$chrome $flags --window-size=1280,2200 --screenshot="$shot" "file://$html" >/dev/null 2>&1
[ -s "$shot" ] && ok "screenshot: $shot" || bad "no screenshot"
cp "$html" "${shot%.png}.html" 2>/dev/null
echo "class_report: $fails failure(s)"
[ $fails -eq 0 ]
