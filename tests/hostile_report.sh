#!/bin/sh
# Grades every hostile fixture as root and as nobody (build/tests/check_hostile)
# and prints "fixture | expected | got" per pass, with what went wrong on the
# machine.  Run it as root from the repository: sh tests/hostile_report.sh
set -u
cd "$(dirname "$0")/.." || exit 2
make -s all build/tests/check_hostile >/dev/null || exit 2
results=$(mktemp /tmp/hostile-report-XXXXXX)
chmod 0666 "$results" # the nobody pass appends too
start=$(date +%s)
CK_VERBOSITY=silent HOSTILE_RESULTS="$results" build/tests/check_hostile >/dev/null 2>&1
rc=$?
end=$(date +%s)
for pass in root nobody; do
	echo "## as $pass"
	echo "fixture | expected | got | ms | problems"
	echo "--- | --- | --- | --- | ---"
	awk -F '\t' -v p="$pass" '$1 == p { printf "%s | %s | %s | %s | %s\n", $2, $3, $4, $5, ($6 == "" ? "ok" : $6) }' "$results" | sort
	echo
done
echo "failing: $(awk -F '\t' '$6 != ""' "$results" | wc -l) of $(wc -l < "$results"); check_hostile exit $rc; $((end - start)) s"
rm -f "$results"
