"""Shared fixtures: isolated user folders, tiny hand-made shops, and a read-only guard."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


_USER_DIRS = ("SEGTUI_CACHE_DIR", "SEGTUI_CONFIG_DIR", "SEGTUI_SEGMENTS_DIR")


@contextlib.contextmanager
def _user_dirs_under(home: Path):
    with pytest.MonkeyPatch.context() as patch:
        for name in _USER_DIRS:
            patch.setenv(name, str(home / name.removeprefix("SEGTUI_").removesuffix("_DIR").lower()))
        patch.setenv("NO_COLOR", "1")
        patch.setenv("COLUMNS", "200")
        yield


@pytest.fixture(autouse=True, scope="session")
def _isolated_session_dirs(tmp_path_factory):
    """The same isolation for module- and session-scoped fixtures, which pytest sets up before
    any function-scoped one: a module fixture that ran ``segtui segments`` or opened a
    workspace wrote its feature cache entry into the real cache folder."""
    with _user_dirs_under(tmp_path_factory.mktemp("session-home")):
        yield


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory):
    """Never touch the real cache, config or segments folders of whoever runs the tests.

    Its own MonkeyPatch, not the test's ``monkeypatch``: a test that calls
    ``monkeypatch.undo()`` to lift its own patches would otherwise lift these too, and the
    rest of it would write into the real cache folder."""
    with _user_dirs_under(tmp_path_factory.mktemp("home")):
        yield


def make_duckdb(path: Path, tables: dict[str, str]) -> Path:
    """Write a DuckDB file whose tables are given as {name: 'SELECT ...' or VALUES query}."""
    con = duckdb.connect(str(path))
    try:
        for name, query in tables.items():
            con.execute(f"CREATE TABLE {name} AS {query}")
    finally:
        con.close()
    return path


def make_csv_folder(folder: Path, files: dict[str, str]) -> Path:
    """Write {file name: text} into folder (CSV text written as is)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def tree_digest(path: Path) -> dict[str, str]:
    """sha256 of every file under path (or of path itself): the read-only guarantee's witness."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


TINY_ORDERS = """
SELECT * FROM (VALUES
  (1, 10, TIMESTAMP '2026-01-05 10:00:00', 20.0),
  (2, 10, TIMESTAMP '2026-02-04 12:30:00', 30.0),
  (3, 11, TIMESTAMP '2026-03-01 09:00:00', 15.5)
) AS t(order_id, customer_id, ordered_at, total)
"""


@pytest.fixture
def tiny_duckdb(tmp_path) -> Path:
    return make_duckdb(tmp_path / "shop.duckdb", {"orders": TINY_ORDERS})


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 120):
    """Run the real `segtui` console entry point in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "segtui.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout,
    )


def assert_one_line_error(result, code: int = 1, contains: str | None = None) -> str:
    """The error contract: exit code, exactly one line on stderr, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    if contains:
        assert contains in lines[0], lines[0]
    return lines[0]


def csv_copy(db: Path, folder: Path) -> Path:
    """Write every table of a DuckDB shop as NAME.csv (with header, rows in a fixed order)."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            target = str(folder / f"{table}.csv").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {table} ORDER BY ALL) TO '{target}' (FORMAT csv, HEADER)")
    finally:
        con.close()
    return folder


def features_table(columns: dict[str, str], rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """An in-memory customer_features table with these columns ({name: type}) and rows."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE customer_features ({', '.join(f'{chr(34)}{n}{chr(34)} {t}' for n, t in columns.items())})")
    con.executemany(f"INSERT INTO customer_features VALUES ({', '.join('?' * len(columns))})", rows)
    return con


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str):
    """Mount a tiny tmpfs on folder for a real 'disk full'; skip the test where that needs root."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)
