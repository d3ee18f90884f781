"""export_members writes members in customer_id order: by sorting, or, from a table stored in
that order (a cache entry), by a plain scan that DuckDB keeps in insertion order. The scan is
checked at a size where it runs on several threads over several row groups (122,880 rows each)."""

from __future__ import annotations

from pathlib import Path

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


# ---------------------------------------------------------------------------------------------
# Campaign-ready exports: contact columns, numbers as people read them, CSV on a stream


@pytest.fixture
def shop(tmp_path):
    """A hand-made shop whose totals add up with float noise (0.1 + 0.2; four totals that make
    2522.7099999999996), and a customers table with contact columns: a phone with a leading 0,
    a name with a comma and an umlaut, a customer_id twice (the later record wins)."""
    from conftest import make_csv_folder

    return make_csv_folder(tmp_path / "shop", {
        "orders.csv": "order_id,customer_id,ordered_at,total\n"
                      "1,1,2026-01-05 10:00:00,0.1\n2,1,2026-01-06 10:00:00,0.2\n"
                      "3,2,2026-01-07 10:00:00,482.19\n4,2,2026-01-08 10:00:00,720.32\n"
                      "5,2,2026-01-09 10:00:00,885.06\n6,2,2026-01-10 10:00:00,435.14\n"
                      "7,3,2026-01-11 10:00:00,10\n",
        "customers.csv": "customer_id,created_at,email,first_name,last_name,phone\n"
                         '1,2025-12-01,ana@example.com,Ana,"Müller, Jr.",0049170123456\n'
                         "2,2025-12-01,old@example.com,Bo,Old,+44 20 7946 0000\n"
                         "2,2025-12-20,bo@example.com,Bo,Lee,+442079460000\n"
                         "4,2025-12-20,dee@example.com,Dee,,\n",
    })


@pytest.fixture
def ws(shop):
    from segtui.core.workspace import open_workspace

    ws = open_workspace(shop, use_cache=False)
    yield ws
    ws.close()


def test_contact_columns_follow_customer_id_with_their_values_intact(ws, tmp_path):
    import csv

    assert ws.export_columns[:5] == ["customer_id", "email", "first_name", "last_name", "phone"]
    out = tmp_path / "members.csv"
    assert ws.export("TRUE", out) == 4
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[:6] == ["customer_id", "email", "first_name", "last_name", "phone", "orders"]
    contacts = [(r["customer_id"], r["email"], r["first_name"], r["last_name"], r["phone"]) for r in rows]
    assert contacts == [
        ("1", "ana@example.com", "Ana", "Müller, Jr.", "0049170123456"),
        ("2", "bo@example.com", "Bo", "Lee", "+442079460000"),      # the later record of customer 2
        ("3", "", "", "", ""),                                         # a buyer without a customers row
        ("4", "dee@example.com", "Dee", "", ""),                       # a customer without orders
    ]
    assert "email" not in ws.catalog.columns                          # never a feature, never in a filter
    chosen = tmp_path / "chosen.csv"
    ws.export("orders >= 1", chosen, ["email", "total_spent"])
    assert chosen.read_text().splitlines() == [
        "customer_id,email,total_spent", "1,ana@example.com,0.3", "2,bo@example.com,2522.71", "3,,10.0"]


def test_money_is_exact_to_the_cent_and_fractions_are_rounded_in_text_formats(ws, tmp_path):
    """total_spent is exact in the table; averages and ratios keep full precision there (and in
    Parquet) and are rounded in CSV and JSON: money to the cent, ratios to 4 decimals."""
    import json

    table = dict(ws.con.execute("SELECT customer_id, total_spent FROM customer_features").fetchall())
    assert repr(table[1]) == "0.3" and repr(table[2]) == "2522.71"
    columns = ["total_spent", "avg_order_value", "avg_days_between_orders", "overdue_ratio", "spend_percentile"]
    csv_out = tmp_path / "m.csv"
    ws.export("orders >= 1", csv_out, columns)
    assert csv_out.read_text().splitlines() == [
        "customer_id,total_spent,avg_order_value,avg_days_between_orders,overdue_ratio,spend_percentile",
        "1,0.3,0.15,1.0,5.0,0.0",
        "2,2522.71,630.68,1.0,1.0,100.0",        # 2522.71 / 4 = 630.6775
        "3,10.0,10.0,,,50.0",
    ]
    jsonl = tmp_path / "m.jsonl"
    ws.export("customer_id = 2", jsonl, ["avg_order_value"])
    assert jsonl.read_text() == '{"customer_id":2,"avg_order_value":630.68}\n'
    parquet = tmp_path / "m.parquet"
    ws.export("customer_id = 2", parquet, ["total_spent", "avg_order_value"])
    assert duckdb.sql(f"SELECT total_spent, avg_order_value FROM '{parquet}'").fetchall() == [(2522.71, 630.6775)]
    assert json.loads(jsonl.read_text())["avg_order_value"] == 630.68


def test_shares_and_ratios_get_four_decimals(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE customer_features AS SELECT * FROM (VALUES (1, 2 / 3, 0.1::DOUBLE + 0.2::DOUBLE, "
                "-0.00001::DOUBLE, 1 / 3)) AS v(customer_id, overdue_ratio, total_spent, discount_share, avg_order_value)")
    out = tmp_path / "m.csv"
    export_members(con, "TRUE", out)
    assert out.read_text().splitlines()[1] == "1,0.6667,0.3,0.0,0.33"   # no -0.0 either


def test_csv_to_a_stream_is_the_file_export(ws, tmp_path):
    import io

    stream = io.BytesIO()
    assert ws.export("orders >= 1", "-", stream=stream) == 3
    out = tmp_path / "m.csv"
    ws.export("orders >= 1", out)
    assert stream.getvalue() == out.read_bytes()
    from segtui.core.source import spill_directory

    assert not list(Path(spill_directory()).glob("segtui-export-*"))     # the temporary file is gone


def test_columns_name_what_the_shop_lacks(ws, tmp_path):
    from segtui.errors import ExportError

    def refused(columns):
        with pytest.raises(ExportError) as caught:
            ws.export("TRUE", tmp_path / "m.csv", columns)
        return str(caught.value)

    assert refused(["emial"]) == "unknown column 'emial' in --columns; did you mean 'email'?"
    assert refused(["total_spnt"]) == "unknown column 'total_spnt' in --columns; did you mean 'total_spent'?"
    assert refused(["main_os"]) == "column 'main_os' in --columns is unavailable for this shop: needs events"
    assert refused(["main_oss"]) == ("unknown column 'main_oss' in --columns; did you mean 'main_os'? "
                                     "(unavailable for this shop: needs events)")
    assert not (tmp_path / "m.csv").exists()


def test_a_shop_without_contact_columns_exports_none(tmp_path):
    from conftest import make_csv_folder
    from segtui.core.workspace import open_workspace

    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "customer_id,ordered_at,total\n1,2026-01-05 10:00:00,5\n",
        "customers.csv": "customer_id,country\n1,DE\n",
    })
    ws = open_workspace(folder, use_cache=False)
    try:
        assert ws.contacts is None and ws.export_columns[:2] == ["customer_id", "orders"]
        out = tmp_path / "m.csv"
        ws.export("TRUE", out, ["country"])
        assert out.read_text() == "customer_id,country\n1,DE\n"
        with pytest.raises(Exception, match="unavailable for this shop: needs customers.email"):
            ws.export("TRUE", tmp_path / "n.csv", ["email"])
    finally:
        ws.close()
