"""`segtui sql --dialect postgres` run on a real PostgreSQL: the feature query returns the table
DuckDB builds, and every built-in segment's query the members DuckDB finds, at two dates.

A throwaway cluster (initdb in a temporary folder, a Unix socket there, no TCP) is started for
the module and stopped after; the generated shop is loaded with psql's \\copy. Runs where the
PostgreSQL server programs are installed (as root: through the ``postgres`` user, since the
server refuses root); skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytest

from segtui.core import portable
from segtui.core.generate import generate
from segtui.core.source import open_source
from segtui.core.workspace import open_workspace

AS_OF_DATES = [date(2026, 3, 31), date(2026, 6, 30)]
PG_TYPES = {"BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision", "VARCHAR": "text",
            "TIMESTAMP": "timestamp", "DATE": "date", "BOOLEAN": "boolean"}


def _server_programs() -> Path | None:
    """The folder of initdb, pg_ctl and postgres: on PATH, else Debian's versioned folder."""
    if all(shutil.which(p) for p in ("initdb", "pg_ctl", "postgres", "psql")):
        return Path(shutil.which("initdb")).parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and shutil.which("psql"):
            return folder
    return None


def _as_server_user() -> list[str] | None:
    """The prefix that runs a server program: nothing for a normal user; as root, ``runuser
    -u postgres`` when that user exists (None: the server cannot be started here)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        return None
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """psql arguments reaching a fresh cluster holding a generated shop; the shop's path."""
    programs, prefix = _server_programs(), _as_server_user()
    if programs is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl, postgres, psql)")
    if prefix is None:
        pytest.skip("PostgreSQL refuses to run as root and there is no 'postgres' user to run it as")
    # not under pytest's own folders: they are private to this user, and as root the server
    # runs as another one
    folder = Path(tempfile.mkdtemp(prefix="segtui-postgres-"))
    if prefix:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    run = lambda *argv: subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=120)  # noqa: E731
    made = run(str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", "segtui")
    assert made.returncode == 0, made.stderr
    started = run(str(programs / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                  f"-k {folder} -c listen_addresses='' -c fsync=off", "start")
    assert started.returncode == 0, started.stderr + (folder / "log").read_text()
    psql = ["psql", "-h", str(folder), "-U", "segtui", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
    try:
        shop = tmp_path_factory.mktemp("postgres-shop") / "shop.duckdb"
        generate(shop, customers=400, seed=11)
        _load(psql, shop, shop.parent)
        yield psql, shop
    finally:
        run(str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _load(psql: list[str], shop: Path, folder: Path) -> None:
    """Every contract table of ``shop`` as a PostgreSQL table of the same name and types."""
    opened = open_source(shop)
    script = []
    try:
        for table in sorted(opened.table_names):
            columns = opened.con.execute(f"DESCRIBE {table}").fetchall()
            path = folder / f"{table}.csv"
            opened.con.execute(f"COPY (SELECT * FROM {table}) TO '{path}' (HEADER, FORMAT csv)")
            script.append(f"CREATE TABLE {table} ({', '.join(f'{c[0]} {PG_TYPES[c[1]]}' for c in columns)});")
            script.append(f"\\copy {table} FROM '{path}' WITH (FORMAT csv, HEADER)")
    finally:
        opened.close()
    loaded = subprocess.run([*psql, "-f", "-"], input="\n".join(script) + "\n", capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr


def _rows(psql: list[str], sql: str) -> tuple[list[str], list[list[str]]]:
    result = subprocess.run([*psql, "--csv", "-c", sql], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    return header, rows


def _value(text: str, kind: str):
    """A value as psql's CSV writes it, read as the DuckDB type of its column."""
    if text == "":
        return None
    if kind in ("BIGINT", "INTEGER"):
        return int(text)
    if kind == "DOUBLE":
        return float(text)
    if kind == "BOOLEAN":
        return text == "t"
    if kind == "TIMESTAMP":
        return datetime.fromisoformat(text)
    if kind == "DATE":
        return date.fromisoformat(text)
    return text


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_the_feature_query_returns_duckdbs_table_on_postgres(postgres):
    """Every field but the predictive ones (a Python fit: unavailable in any dialect) equals
    DuckDB's own build (its overrides): exactly for integers, text, timestamps, dates and flags;
    within 1e-9 relative for doubles."""
    psql, shop = postgres
    reference = open_workspace(shop, as_of=AS_OF_DATES[1], fields=None, engine="reference", use_cache=False)
    duck = open_workspace(shop, as_of=AS_OF_DATES[1], use_cache=False)
    try:
        fields = [f for f in reference.builder.available if not reference.builder.file(f.family).computed_by]
        names = [f.name for f in fields]
        assert len(names) >= 50
        header, rows = _rows(psql, portable.query(reference.builder, "postgres", fields=names))
        assert header == ["customer_id", *names]
        expected = duck.con.execute(f"SELECT customer_id, {', '.join(names)} FROM customer_features "
                                    "ORDER BY customer_id").fetchall()
        assert len(rows) == len(expected) > 350
        kinds = ["BIGINT", *(f.type for f in fields)]
        for got, want in zip(rows, expected):
            diff = {name: (_value(g, k), w) for name, g, k, w in zip(header, got, kinds, want) if not _same(_value(g, k), w)}
            assert not diff, (want[0], diff)
    finally:
        reference.close()
        duck.close()


@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_every_segment_has_duckdbs_members_on_postgres(postgres, as_of):
    """One query at each date flags every built-in segment's members (each filter as
    `segtui sql` writes it for PostgreSQL); each set equals DuckDB's."""
    psql, shop = postgres
    reference = open_workspace(shop, as_of=as_of, fields=None, engine="reference", use_cache=False)
    duck = open_workspace(shop, as_of=as_of, use_cache=False)
    try:
        usable = reference.catalog.usable
        assert len(usable) >= 40
        wheres = [str(c.sql) for c in usable]
        flags = ", ".join(f"COALESCE(({w}), FALSE) AS m{i}" for i, w in enumerate(wheres))
        outer = f"SELECT customer_id, {flags} FROM customer_features ORDER BY customer_id"
        sql = portable._over_features(reference.builder, "postgres", outer, portable._fields_of(wheres))
        _, rows = _rows(psql, sql)
        for i, compiled in enumerate(usable):
            members = [int(r[0]) for r in rows if r[i + 1] == "t"]
            expected = [r[0] for r in duck.con.execute(
                f"SELECT customer_id FROM customer_features WHERE {duck.segment(compiled.name).sql} "
                "ORDER BY customer_id").fetchall()]
            assert members == expected, compiled.name
        assert sum(r.count("t") for r in rows) > 1000
    finally:
        reference.close()
        duck.close()


def test_segtui_sql_for_postgres_runs_there(postgres):
    """The command's own output (a comment line, then the query) runs in psql as printed."""
    from conftest import run_cli

    psql, shop = postgres
    printed = run_cli("sql", str(shop), "--segment", "Late for their own rhythm", "--dialect", "postgres",
                      "--as-of", "2026-06-30")
    assert printed.returncode == 0, printed.stderr
    result = subprocess.run([*psql, "-At", "-f", "-"], input=printed.stdout, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    count = run_cli("count", str(shop), "--segment", "Late for their own rhythm", "--as-of", "2026-06-30")
    assert len(result.stdout.split()) == int(count.stdout) > 0
