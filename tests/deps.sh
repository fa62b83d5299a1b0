#!/bin/sh
# Installs what the project needs from Debian/Ubuntu packages (as root), or
# names the missing packages (otherwise).  Quiet and fast when all is there.
set -u
PKGS="make gcc libc6-dev pkg-config libyaml-dev libjansson-dev libseccomp-dev nettle-dev libarchive-dev check libsubunit-dev valgrind libxml2-utils perl python3-jsonschema python3-yaml groff-base"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing" >&2
	echo "install them with: sudo apt-get install$missing   (or: sudo make deps)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "apt-get could not install:$missing" >&2
	exit 1
}
