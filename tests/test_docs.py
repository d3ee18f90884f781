"""The user's documentation holds: every relative link in README.md and docs/*.md leads to a file
(and heading) of this repository, and every recipe of docs/mapping.md runs as written and
prints what the page says it prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _prose(text: str) -> str:
    return _FENCE.sub("", text)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    slugs = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _prose(page.read_text(encoding="utf-8")), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def _targets(page: Path) -> list[str]:
    prose = _prose(page.read_text(encoding="utf-8"))
    targets = _LINK.findall(prose) + _REFERENCE.findall(prose)
    # a path to a page written as code ("see `docs/x.md`") is a link too, for a reader
    targets += [span for span in _CODE_SPAN.findall(_LINK.sub("", prose)) if re.fullmatch(r"[\w./-]+\.md", span)]
    return targets


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page):
    broken = []
    for target in _targets(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if ROOT not in resolved.parents and resolved != ROOT:
            broken.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_link_check_catches_what_it_should(tmp_path):
    """The scan itself: links, reference links and page paths in code are found; fenced code is not."""
    page = tmp_path / "page.md"
    page.write_text("[a](x.md) ![b](img/c.png \"t\") see `../shared/DESIGN.md`\n\n[r]: other.md\n\n"
                    "```sh\n[not](a-link.md)\n```\n")
    assert sorted(_targets(page)) == ["../shared/DESIGN.md", "img/c.png", "other.md", "x.md"]


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
