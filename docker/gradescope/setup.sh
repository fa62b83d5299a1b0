#!/bin/bash
# Gradescope image set-up: Gradescope runs this once, as root, when it builds
# the autograder image from autograder.zip (made by make-autograder-zip.sh),
# whose contents are in /autograder/source:
#   setup.sh  run_autograder  lab  ipc-grader/ (this repository)
# It installs the build tools and the grader's libraries from the image's
# packages (Gradescope's images are Ubuntu; Debian works the same), builds the
# grader and installs it under /usr/local, and checks that the lab named in
# `lab` loads.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	make gcc libc6-dev pkg-config libyaml-dev libjansson-dev libseccomp-dev valgrind ca-certificates >/dev/null
make -C "$src/ipc-grader" -j"$(nproc)" PREFIX=/usr/local all
make -C "$src/ipc-grader" PREFIX=/usr/local install
install -m 755 "$src/run_autograder" /autograder/run_autograder
lab=$(tr -s ' \t\r\n' '\n' <"$src/lab" | sed -n '/./{p;q;}')
grader validate "$lab"
echo "setup.sh: the grader is installed; the lab is $lab"
