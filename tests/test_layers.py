"""The layers hold: ``segtui.core`` (and the CLI) never load Textual, and the faces hold no SQL.

Both are read from the code itself, not from a list kept by hand: every module found under
``segtui/core`` is imported alone, and every ``.py`` under ``segtui/tui`` is tokenized. pandas
is kept out too: nothing needs it, and it would cost every command its import time.

The SQL scan was checked against the explorer before its queries moved to
``segtui.core.answers``: it failed there on tui/app.py (the ``DESCRIBE customer_features`` and
the top-values ``SELECT … UNION ALL`` of its load thread, the member page's
``SELECT … ORDER BY … LIMIT`` and their three ``.execute(`` calls), on every query of
tui/profile.py, and on the ``ORDER BY … LIMIT`` spelled out in the preview widget's docstring.
"""

from __future__ import annotations

import io
import pkgutil
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

import segtui.core

TUI = Path(__file__).resolve().parent.parent / "segtui" / "tui"

#: SQL keywords as whole words, upper case: the house writes SQL in upper case, and the same
#: words in lower case ("taken from the list", "the limit") are prose in messages and docstrings.
SQL_WORDS = re.compile(r"\b(SELECT|FROM|WHERE|GROUP\s+BY|ORDER\s+BY|DESCRIBE|LIMIT|JOIN|UNION|INSERT|CREATE|ATTACH)\b")
#: Calls that run SQL, whatever object they are called on.
SQL_CALLS = {"execute", "sql"}
#: (file name, the exact string) of user-facing text that really must hold such a word. Empty:
#: keep it that way unless a message cannot be written otherwise, and say why beside the entry.
ALLOWED: set[tuple[str, str]] = set()


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(segtui.core.__path__, prefix="segtui.core."))


def test_core_modules_are_found():
    found = core_modules()
    assert "segtui.core.workspace" in found and "segtui.core.answers" in found
    assert any(name.startswith("segtui.core.features.") for name in found)  # subpackages too


@pytest.mark.parametrize("module", [*core_modules(), "segtui.cli"])
def test_headless_module_loads_neither_textual_nor_pandas(module):
    """Each module alone, in a fresh interpreter: an import that only one module makes is seen."""
    code = (
        f"import sys, {module}; bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'pandas')); "
        "print(bad[:3]); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"importing {module} loads {result.stdout}{result.stderr}"


def sql_in(source: str) -> list[tuple[int, str]]:
    """Where ``source`` holds SQL: string tokens with SQL keywords, and ``.execute(``/``.sql(`` calls.

    f-strings are one STRING token up to Python 3.11 and FSTRING_MIDDLE pieces from 3.12 on;
    both are read.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    strings = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    found = []
    for index, token in enumerate(tokens):
        if token.type in strings and SQL_WORDS.search(token.string):
            found.append((token.start[0], token.string))
        elif (
            token.type == tokenize.NAME and token.string in SQL_CALLS and 0 < index < len(tokens) - 1
            and tokens[index - 1].string == "." and tokens[index + 1].string == "("
        ):  # fmt: skip
            found.append((token.start[0], f".{token.string}("))
    return found


def test_the_sql_scan_sees_sql():
    assert sql_in('q = f"SELECT {x} FROM t"\n')
    assert sql_in("cursor.execute(q)\n") and sql_in("con.sql(q).fetchall()\n")
    assert sql_in('"""Pages with ``ORDER BY sort LIMIT n``."""\n')
    assert not sql_in('say("pick one from the list")\nSELECT_DEBOUNCE = 1\nx = selection.sql\n')


@pytest.mark.parametrize("path", sorted(TUI.rglob("*.py")), ids=lambda p: str(p.relative_to(TUI)))
def test_no_sql_in_the_explorer(path):
    """The explorer asks the engine (``Workspace`` methods, ``segtui.core.answers``); it writes no SQL."""
    found = [(line, text) for line, text in sql_in(path.read_text(encoding="utf-8")) if (path.name, text) not in ALLOWED]
    assert not found, f"SQL in {path.relative_to(TUI.parent.parent)}:\n" + "\n".join(
        f"  line {line}: {' '.join(text.split())[:90]}" for line, text in found
    )
