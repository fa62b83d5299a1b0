#!/bin/sh
# Checks packaging/apparmor/ipc-grader.in, the AppArmor profile that lets the
# installed grader create user namespaces on Ubuntu 23.10+:
#   1. the profile generated for /usr/local/bin/grader parses and compiles with
#      apparmor_parser (-Q -K: nothing is loaded, no AppArmor kernel needed);
#   2. `make install DESTDIR=... APPARMOR=1` puts it, for the right path, in
#      $DESTDIR/etc/apparmor.d/ipc-grader and `make uninstall` removes it.
# apparmor_parser older than 4.0 (Debian 12 has 3.0) knows neither abi/4.0 nor
# the `userns` rule: then step 1 compiles the profile without those two lines
# (against the newest ABI installed) and says so; STRICT=1 makes that a failure.
# Run from the top of the tree, as root where apparmor must be installed:
#   sh tests/apparmor.sh            (SKIP_INSTALL=1: step 1 only, no build)
set -u
cd "$(dirname "$0")/.." || exit 1
IN=${IN:-packaging/apparmor/ipc-grader.in}
BIN=/usr/local/bin/grader
pass=0; fail=0; partial=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! command -v apparmor_parser >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing apparmor (for apparmor_parser)"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apparmor >/dev/null
	fi
	# Debian puts it in /sbin, not always on a user's PATH.
	PATH=$PATH:/usr/sbin:/sbin
	command -v apparmor_parser >/dev/null 2>&1 || {
		echo "apparmor_parser missing: apt-get install apparmor (as root)" >&2; exit 1; }
fi
echo "# $(${APPARMOR_PARSER:-apparmor_parser} --version | head -n 1)"

# Parse and compile only: -Q (--skip-kernel-load) -K (--skip-cache).
# -q drops the warning that the kernel has no AppArmor; errors still print.
# APPARMOR_PARSER / AA_DIR: another parser and its apparmor.d (abi/, tunables/).
PARSER=${APPARMOR_PARSER:-apparmor_parser}
AA_DIR=${AA_DIR:-/etc/apparmor.d}
parse() { $PARSER -b "$AA_DIR" -I "$AA_DIR" -Q -K -q "$@"; }

# --- 1. syntax ---------------------------------------------------------------
prof=$tmp/ipc-grader
sed "s|@BINDIR@|${BIN%/grader}|g" "$IN" > "$prof"
grep -q '@[A-Z]*@' "$prof" && bad "placeholder left in the generated profile"
grep -q "^profile ipc-grader $BIN flags=(unconfined) {\$" "$prof" &&
	ok "profile ipc-grader attaches to $BIN, flags=(unconfined)" ||
	bad "no 'profile ipc-grader $BIN flags=(unconfined) {' line"
grep -q '^ *userns, *$' "$prof" && ok "profile grants 'userns,'" || bad "profile lacks 'userns,'"
grep -q '^abi <abi/4.0>, *$' "$prof" && ok "profile pins abi <abi/4.0>" || bad "profile lacks 'abi <abi/4.0>,'"

# Does this parser know the userns rule?  (AppArmor >= 4.0 does; 3.x does not.)
printf 'profile ipc-grader-probe flags=(unconfined) {\n  userns,\n}\n' > "$tmp/probe"
if [ -e "$AA_DIR/abi/4.0" ] && parse "$tmp/probe" 2>/dev/null; then
	if out=$(parse "$prof" 2>&1); then
		ok "apparmor_parser -Q -K compiles the profile (abi 4.0, userns)"
	else
		bad "apparmor_parser -Q -K rejects the profile:"; echo "$out"
	fi
	# Compiled for a kernel with the 4.0 features, the rule must be in the
	# binary policy (with no kernel features the parser silently drops it).
	sed '/^ *userns, *$/d' "$prof" > "$tmp/ipc-grader-nouserns"
	kf="--kernel-features=$AA_DIR/abi/4.0"
	a=$(parse "$kf" -S "$prof" 2>/dev/null | cksum); b=$(parse "$kf" -S "$tmp/ipc-grader-nouserns" 2>/dev/null | cksum)
	[ -n "$a" ] && [ "$a" != "$b" ] && ok "compiled for abi/4.0 kernel features, the policy holds the userns rule" ||
		bad "compiled for abi/4.0 kernel features, 'userns,' changes nothing in the policy"
else
	# Check the rest: the abi line against the newest ABI this parser has,
	# the tunables include, attachment, flags and the conditional include.
	abi=$(ls "$AA_DIR/abi" 2>/dev/null | grep '^[0-9][0-9.]*$' | sort -t. -k1,1n -k2,2n | tail -n 1)
	if [ -n "$abi" ]; then abiline="abi <abi/$abi>,"; else abiline=""; fi
	sed -e "s|^abi <abi/4.0>,|$abiline|" -e '/^ *userns, *$/d' "$prof" > "$tmp/ipc-grader-old"
	if out=$(parse "$tmp/ipc-grader-old" 2>&1); then
		ok "apparmor_parser -Q -K compiles the profile less 'userns,' (abi <abi/${abi:-none}> for abi/4.0)"
	else
		bad "apparmor_parser -Q -K rejects the profile (less 'userns,', abi ${abi:-none}):"; echo "$out"
	fi
	partial=1
	echo "SKIP this apparmor_parser predates AppArmor 4.0: 'abi <abi/4.0>,' and 'userns,' not compiled (need Ubuntu 23.10+/AppArmor 4)"
	[ "${STRICT:-0}" = 1 ] && bad "STRICT=1 and the full profile could not be compiled"
fi

# --- 2. make install / uninstall with DESTDIR --------------------------------
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
	dest=$tmp/dest
	if make --no-print-directory install DESTDIR="$dest" PREFIX=/usr/local APPARMOR=1 > "$tmp/install.log" 2>&1; then
		f=$dest/etc/apparmor.d/ipc-grader
		if [ -f "$f" ]; then
			ok "make install DESTDIR=... APPARMOR=1 installs etc/apparmor.d/ipc-grader"
			cmp -s "$f" "$prof" && ok "installed profile is the one for $BIN" ||
				{ bad "installed profile differs from the one for $BIN:"; diff "$prof" "$f"; }
			[ "$(stat -c %a "$f")" = 644 ] && ok "installed profile is mode 644" || bad "installed profile is mode $(stat -c %a "$f")"
		else
			bad "make install DESTDIR=... APPARMOR=1 did not install $f"
		fi
		grep -qi apparmor "$tmp/install.log" &&
			{ bad "make install printed about AppArmor with DESTDIR:"; grep -i apparmor "$tmp/install.log"; } ||
			ok "make install with DESTDIR printed nothing about AppArmor"
		make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr/local >> "$tmp/install.log" 2>&1 &&
			[ ! -e "$f" ] && ok "make uninstall DESTDIR=... removes it" || bad "make uninstall DESTDIR=... left $f"
		make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr/local >> "$tmp/install.log" 2>&1 &&
			ok "make uninstall again (nothing installed) succeeds" || bad "make uninstall fails when nothing is installed"
		make --no-print-directory install DESTDIR="$tmp/dest0" PREFIX=/usr/local APPARMOR=0 >> "$tmp/install.log" 2>&1 &&
			[ ! -e "$tmp/dest0/etc/apparmor.d" ] && ok "make install APPARMOR=0 installs no profile" ||
			bad "make install APPARMOR=0 installed a profile (or failed)"
	else
		bad "make install DESTDIR=$dest PREFIX=/usr/local APPARMOR=1 failed:"; tail -n 20 "$tmp/install.log"
	fi
fi

[ "$partial" = 1 ] && echo "# partial: see SKIP above"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
