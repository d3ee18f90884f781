"""The user's documentation holds: every recipe of docs/mapping.md runs as written and prints
what the page says it prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


# --- mapping recipes ---------------------------------------------------------------------------

_FILE = re.compile(r"<!-- file: (\S+) -->\s*\n```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_RUN = re.compile(r"<!-- run -->\s*\n```console\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _recipes() -> list[tuple[str, dict[str, str], list[tuple[str, str]]]]:
    """(title, {file: text}, [(command, expected stdout)]) per '## ' section of docs/mapping.md."""
    text = (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8")
    recipes = []
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        title = section.splitlines()[0].strip()
        files = {name: body for name, body in _FILE.findall(section)}
        runs = []
        for block in _RUN.findall(section):
            for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
                command, _, output = chunk.partition("\n")
                runs.append((command, output))
        if files or runs:
            recipes.append((title, files, runs))
    return recipes


RECIPES = _recipes()


def test_the_mapping_page_has_recipes():
    assert len(RECIPES) >= 8
    assert all(files and runs for _, files, runs in RECIPES), [t for t, f, r in RECIPES if not (f and r)]


@pytest.mark.parametrize("title, files, runs", RECIPES, ids=[r[0] for r in RECIPES])
def test_mapping_recipe_runs_as_written(title, files, runs, tmp_path):
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    for command, expected in runs:
        words = shlex.split(command)
        assert words[0] == "segtui", command
        result = run_cli(*words[1:], cwd=tmp_path)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        assert result.stdout.strip().splitlines() == expected.strip().splitlines(), command
