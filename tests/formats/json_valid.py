#!/usr/bin/python3
"""Validates JSON files against a JSON Schema (draft 7) with python3-jsonschema.

usage: json_valid.py SCHEMA FILE...
Prints "FILE: valid" or every problem with its path in the document.
Exit 0: all valid; 1: something invalid or unreadable; 2: jsonschema missing.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    sys.stderr.write("json_valid.py: the python3 module jsonschema is missing: "
                     "apt-get install python3-jsonschema (sh tests/deps.sh does)\n")
    sys.exit(2)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    rc = 0
    for path in argv[2:]:
        try:
            # strict: the bytes must be UTF-8, as the JSON specification says
            with open(path, encoding="utf-8", errors="strict") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{path}: not JSON: {e}")
            rc = 1
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if not errors:
            print(f"{path}: valid")
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: {where}: {e.message[:300]}")
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
