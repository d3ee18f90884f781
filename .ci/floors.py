"""Print `name==floor` for each runtime dependency in pyproject.toml, one a line.

The floors CI step installs exactly these, so each ">=" in pyproject.toml is a version that was
installed and tested, not a guess. A dependency without a ">=" floor is an error: it would be
untested at its lowest version.
"""

import re
import sys
import tomllib
from pathlib import Path

FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:[^;]*,)?\s*>=\s*([^,;\s]+)")

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
missing = []
for requirement in project["dependencies"]:
    match = FLOOR.match(requirement)
    if match is None:
        missing.append(requirement)
    else:
        print(f"{match.group(1)}=={match.group(2)}")
if missing:
    sys.exit(f"floors: no '>=' floor in pyproject.toml for: {', '.join(missing)}")
