#!/usr/bin/env python3
"""Regenerate the option table of `amber run` in docs/cli.md from
`build/amber run --help`, so the reference cannot drift from the binary.

Usage: tools/cli-doc.py [AMBER]   (default build/amber)"""
import re
import subprocess
import sys

amber = sys.argv[1] if len(sys.argv) > 1 else "build/amber"
text = subprocess.run([amber, "run", "--help"], capture_output=True, text=True,
                      check=True).stdout
body = text.split("Options:\n", 1)[1].split("\nExit status", 1)[0].splitlines()
rows = []
for line in body:
    if not line.strip():
        continue
    s = line.strip()
    if s.startswith("-"):
        parts = re.split(r"\s{2,}", s, maxsplit=1)
        rows.append([parts[0], parts[1] if len(parts) > 1 else ""])
    else:
        rows[-1][1] = (rows[-1][1] + " " + s).strip()
table = "\n".join("| `%s` | %s |" % (a, b.replace("|", "\\|")) for a, b in rows)
head = "| option | meaning |\n|---|---|\n"
doc = open("docs/cli.md").read()
start = doc.index(head) + len(head)
end = doc.index("\n### ", start)
open("docs/cli.md", "w").write(doc[:start] + table + "\n" + doc[end:])
