"""export_members writes members in customer_id order: by sorting, or, from a table stored in
that order (a cache entry), by a plain scan that DuckDB keeps in insertion order. The scan is
checked at a size where it runs on several threads over several row groups (122,880 rows each)."""

from __future__ import annotations

import duckdb
import pytest

from segtui.core.export import export_members

ROWS = 300_000
READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".jsonl": "read_json"}


@pytest.fixture
def con(tmp_path):
    """Two tables on disk like a cache entry: one in customer order, one scrambled."""
    con = duckdb.connect(str(tmp_path / "entry.duckdb"))
    con.execute("SET threads = 2")
    con.execute(f"""
        CREATE TABLE scrambled AS
        SELECT (i * 2654435761) % 1000000007 AS customer_id, i % 7 AS orders, 'x' || i AS city
        FROM range({ROWS}) AS r(i)
    """)
    con.execute("CREATE TABLE in_order AS SELECT * FROM scrambled ORDER BY customer_id")
    yield con
    con.close()


def read_ids(con, path) -> list[int]:
    # the file's own row order: a plain read, numbered as it comes
    return [r[0] for r in con.execute(f"SELECT customer_id FROM {READERS[path.suffix]}('{path}')").fetchall()]


@pytest.mark.parametrize("suffix", sorted(READERS))
def test_a_sorted_table_is_exported_in_order_without_a_sort(con, tmp_path, suffix):
    expected = [r[0] for r in con.execute("SELECT customer_id FROM in_order WHERE orders <> 3 ORDER BY customer_id").fetchall()]
    out = tmp_path / f"members{suffix}"
    assert export_members(con, "orders <> 3", out, table="in_order", rows_sorted=True) == len(expected)
    assert read_ids(con, out) == expected


def test_an_unsorted_table_is_sorted_on_the_way_out(con, tmp_path):
    scan = [r[0] for r in con.execute("SELECT customer_id FROM scrambled").fetchall()]
    assert scan != sorted(scan)
    out = tmp_path / "members.parquet"
    assert export_members(con, "TRUE", out, table="scrambled") == ROWS
    assert read_ids(con, out) == sorted(scan)
