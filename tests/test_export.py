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


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_json_gets_null_for_a_number_json_cannot_hold(tmp_path, suffix):
    """A sum that overflowed (totals near 1e308) or a NaN: DuckDB writes Infinity / NaN, which
    is not JSON (jq rejects the file); the export writes null there, and CSV keeps the value."""
    import json

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'inf'::DOUBLE, 2.5), (2, 'nan'::DOUBLE, '-inf'::DOUBLE), "
                "(3, 4.0, NULL)) AS v(customer_id, total_spent, avg_order_value)")
    out = tmp_path / f"members{suffix}"
    assert export_members(con, "TRUE", out, table="t") == 3
    text = out.read_text()

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    rows = json.loads(text, parse_constant=refuse) if suffix == ".json" else \
        [json.loads(line, parse_constant=refuse) for line in text.splitlines()]  # fmt: skip
    assert [(r["customer_id"], r["total_spent"], r["avg_order_value"]) for r in rows] == \
        [(1, None, 2.5), (2, None, None), (3, 4.0, None)]  # fmt: skip
    csv = tmp_path / "members.csv"
    export_members(con, "TRUE", csv, table="t")
    assert "inf" in csv.read_text().lower()
