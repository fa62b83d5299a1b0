#!/bin/sh
# Writes docker/seccomp.json: Docker's default seccomp profile plus the rules
# the grader's sandbox needs.  Usage: docker/make-seccomp.sh DEFAULT.json
#
# DEFAULT.json is the default profile of the engine in use.  For Debian's
# docker.io 20.10.24 it is engine/profiles/seccomp/default.json of the package
# source with debian/patches/engine-seccomp-mipsx.patch applied:
#   echo 'deb-src http://deb.debian.org/debian bookworm main' >/etc/apt/sources.list.d/src.list
#   apt-get update && apt-get source --download-only docker.io
# (docker/README.md has the steps; any other engine's default.json works too.)
#
# What is added, and why (nothing else changes):
#  - clone, unshare, setns, mount, umount, umount2, pivot_root, sethostname,
#    setdomainname for everyone, not only for CAP_SYS_ADMIN: the grader puts
#    every test in new user, PID, network, IPC, mount and UTS namespaces.  The
#    kernel still checks each call: without CAP_SYS_ADMIN in the container, a
#    process gets these powers only inside a user namespace it created.
#  - personality(ADDR_NO_RANDOMIZE): the grader turns address randomisation off
#    for the programs it runs (same submission, same verdicts); Docker's
#    default allows only a few personality values and this is not one of them.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DEFAULT.json" >&2; exit 2; }
command -v jq >/dev/null || { echo "$0: needs jq (apt-get install jq)" >&2; exit 1; }
out=$(dirname "$0")/seccomp.json
jq --tab '.syscalls += [
  {
    "names": ["clone", "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "sethostname", "setdomainname"],
    "action": "SCMP_ACT_ALLOW",
    "args": [],
    "comment": "ipc-grader: per-test namespaces without CAP_SYS_ADMIN (the kernel allows them only over namespaces the caller owns)",
    "includes": {},
    "excludes": {}
  },
  {
    "names": ["personality"],
    "action": "SCMP_ACT_ALLOW",
    "args": [{"index": 0, "value": 262144, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
    "comment": "ipc-grader: personality(ADDR_NO_RANDOMIZE), for deterministic runs",
    "includes": {},
    "excludes": {}
  }
]' "$1" >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
