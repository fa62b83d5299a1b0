#!/usr/bin/python3
"""Checks the CI examples of docs/ci/ as their CI reads them (python3-yaml).

usage: ci_yaml.py [WORKDIR]
GitHub Actions: runs on push, the steps that pull, grade, publish the JUnit
report and fail the job, and the checks: write permission of the check run.
GitLab CI: junit.xml kept always as artifacts:reports:junit, the image's
entry point overridden.  With WORKDIR, the steps' scripts and environments
are written there for tests/ci_examples.sh to run.
Exit 0 when all is there, 1 otherwise.
"""
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write("ci_yaml.py: the python3 module yaml is missing: apt-get install python3-yaml "
                     "(sh tests/deps.sh does)\n")
    sys.exit(2)

work = sys.argv[1] if len(sys.argv) > 1 else None
gh = yaml.safe_load(open("docs/ci/github-actions.yml"))
gl = yaml.safe_load(open("docs/ci/gitlab-ci.yml"))
problems = []
on = gh.get("on", gh.get(True))  # YAML 1.1 reads the key on as true
if not on or "push" not in on:
    problems.append("github: not run on push")
job = gh["jobs"]["grade"]
steps = {s.get("name", s.get("uses", "")): s for s in job["steps"]}
for name in ("Pull the grader", "Grade", "Publish the JUnit report", "Fail unless every test passed"):
    if name not in steps:
        problems.append("github: no step %r" % name)
if "junit" not in steps.get("Publish the JUnit report", {}).get("uses", ""):
    problems.append("github: the report is not published by a JUnit action")
if "--format junit" not in steps.get("Grade", {}).get("run", ""):
    problems.append("github: the Grade step does not write JUnit")
if gh.get("permissions", {}).get("checks") != "write":
    problems.append("github: no checks: write permission for the check run")
if work and not problems:
    for name in ("Pull the grader", "Grade"):
        open("%s/%s.sh" % (work, name.split()[0].lower()), "w").write(steps[name]["run"])
    open(work + "/env", "w").write("".join("%s=%s\n" % kv for kv in job["env"].items()))
g = gl["grade"]
if g["artifacts"]["reports"]["junit"] != "junit.xml" or g["artifacts"]["when"] != "always":
    problems.append("gitlab: junit.xml is not an artifacts:reports:junit kept always")
if not any("--format junit" in line for line in g["script"]):
    problems.append("gitlab: the script does not write JUnit")
if g["image"].get("entrypoint") != [""]:
    problems.append("gitlab: the image's entry point is not overridden")
if work and not problems:
    open(work + "/gitlab.sh", "w").write("\n".join(g["script"]) + "\n")
    open(work + "/gitlab.env", "w").write("".join("%s=%s\n" % kv for kv in g["variables"].items()))
for p in problems:
    print("  " + p)
print("  github: %d steps; gitlab: %d script lines" % (len(job["steps"]), len(g["script"])))
sys.exit(1 if problems else 0)
