"""Shop sources: DuckDB files, CSV/Parquet folders, single files and the mapping file."""

from __future__ import annotations

import duckdb
import pytest

from conftest import TINY_ORDERS, make_csv_folder, make_duckdb, tree_digest
from segtui.core.source import open_source
from segtui.errors import MappingError, SourceError


def orders_rows(shop):
    return shop.con.execute(
        "SELECT order_id, customer_id, ordered_at::VARCHAR, total FROM orders ORDER BY ordered_at"
    ).fetchall()


def test_duckdb_file_is_attached_read_only_and_normalised(tiny_duckdb):
    before = tree_digest(tiny_duckdb)
    shop = open_source(tiny_duckdb)
    assert shop.table_names == {"orders"}
    assert orders_rows(shop)[0] == (1, 10, "2026-01-05 10:00:00", 20.0)
    with pytest.raises(duckdb.Error):
        shop.con.execute("INSERT INTO src.main.orders VALUES (9, 9, now(), 1)")
    shop.close()
    assert tree_digest(tiny_duckdb) == before


def test_every_contract_column_exists_and_missing_ones_are_null(tiny_duckdb):
    shop = open_source(tiny_duckdb)
    cols = dict(shop.con.execute("DESCRIBE orders").fetchall()[i][:2] for i in range(8))
    assert cols == {
        "customer_id": "BIGINT", "ordered_at": "TIMESTAMP", "total": "DOUBLE", "order_id": "BIGINT",
        "discount": "DOUBLE", "channel": "VARCHAR", "device": "VARCHAR", "payment_method": "VARCHAR",
    }
    assert shop.present_columns["orders"] == {"order_id", "customer_id", "ordered_at", "total"}
    assert shop.con.execute("SELECT count(*) FROM orders WHERE discount IS NULL").fetchone()[0] == 3


def test_csv_folder_one_table_per_file(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "customer_id,ordered_at,total\nA1,2026-01-01,10\nB2,2026-01-02 13:00:00,5.5\n",
        "Events.CSV": "customer_id,occurred_at,type\nA1,2026-01-01 09:00,page_view\n",
        "notes.txt": "ignored",
    })
    before = tree_digest(folder)
    shop = open_source(folder)
    assert shop.table_names == {"orders", "events"}
    assert shop.id_types["customer_id"] == "VARCHAR"
    # no order_id column: each row is one order, with a synthesised id that never collides
    assert {r[0] for r in orders_rows(shop)} == {"#1", "#2"}
    assert shop.con.execute("SELECT type FROM events").fetchall() == [("page_view",)]
    shop.close()
    assert tree_digest(folder) == before


def test_parquet_folder_and_mixed_id_types_join_as_text(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    con = duckdb.connect()
    con.execute(f"COPY ({TINY_ORDERS}) TO '{folder / 'orders.parquet'}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT 'x10' AS customer_id, TIMESTAMP '2026-01-01' AS occurred_at, 'search' AS type) "
        f"TO '{folder / 'events.parquet'}' (FORMAT parquet)"
    )
    shop = open_source(folder)
    assert shop.id_types["customer_id"] == "VARCHAR"  # integer in orders, text in events
    assert shop.con.execute("SELECT customer_id FROM orders ORDER BY 1").fetchall() == [("10",), ("10",), ("11",)]


def test_single_csv_file_is_the_orders_table(tmp_path):
    f = tmp_path / "sales.csv"
    f.write_text("customer_id,ordered_at,total\n1,2026-01-01,3\n")
    shop = open_source(f)
    assert shop.table_names == {"orders"}


def test_mapping_file_beside_source_renames_and_computes(tmp_path):
    db = make_duckdb(tmp_path / "erp.duckdb", {
        "transactions": "SELECT * FROM (VALUES ('c1', 20260105, 1999), ('c2', 20260201, 500)) t(cust, date, cents)",
    })
    (tmp_path / "segtui.toml").write_text(
        '[tables.orders]\nfrom = "transactions"\ncustomer_id = "cust"\n'
        "ordered_at = \"strptime(CAST(date AS VARCHAR), '%Y%m%d')\"\ntotal = \"cents / 100.0\"\n"
    )
    shop = open_source(db)
    assert shop.mapping_file == tmp_path / "segtui.toml"
    rows = shop.con.execute("SELECT customer_id, ordered_at::DATE::VARCHAR, total FROM orders ORDER BY 1").fetchall()
    assert rows == [("c1", "2026-01-05", 19.99), ("c2", "2026-02-01", 5.0)]


def test_mapping_option_and_file_tables(tmp_path):
    folder = make_csv_folder(tmp_path / "x", {"sales_2026.csv": "who,when,amount\n1,2026-01-01,4\n"})
    mapping = tmp_path / "map.toml"
    mapping.write_text('[tables.orders]\nfrom = "sales_2026"\ncustomer_id = "who"\nordered_at = "\\"when\\""\ntotal = "amount"\n')
    shop = open_source(folder, mapping=mapping)
    assert shop.con.execute("SELECT customer_id, total FROM orders").fetchall() == [(1, 4.0)]


@pytest.mark.parametrize("toml, message", [
    ("[tables.orders\n", "not valid TOML"),
    ('[tables.ordrs]\ncustomer_id = "x"\n', "unknown table [tables.ordrs]; did you mean 'orders'?"),
    ('[tables.orders]\ncustomer = "x"\n', "unknown column 'customer'; did you mean 'customer_id'?"),
    ('[tables.orders]\ntotal = "no_such_column"\n', "tables.orders.total = 'no_such_column' does not work"),
    ('[tables.orders]\nfrom = "nothing_here"\n', "is not a table or file in the source"),
    ('[other]\nx = 1\n', "unknown section [other]"),
])
def test_mapping_errors_are_one_line(tiny_duckdb, tmp_path, toml, message):
    mapping = tmp_path / "bad.toml"
    mapping.write_text(toml)
    with pytest.raises(MappingError) as info:
        open_source(tiny_duckdb, mapping=mapping)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_path(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        open_source(tmp_path / "nope.duckdb")


def test_folder_without_tables(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(SourceError, match="no .csv or .parquet files"):
        open_source(tmp_path)


def test_text_file_is_not_a_database(tmp_path):
    f = tmp_path / "shop.duckdb"
    f.write_text("this is not a database\n" * 50)
    before = tree_digest(f)
    with pytest.raises(SourceError, match="not a DuckDB database"):
        open_source(f)
    assert tree_digest(f) == before


def test_no_orders_table_says_how_to_map(tmp_path):
    db = make_duckdb(tmp_path / "s.duckdb", {"sales": TINY_ORDERS})
    with pytest.raises(SourceError) as info:
        open_source(db)
    assert "no 'orders' table" in str(info.value) and "found: sales" in str(info.value)
    assert '[tables.orders] from = "<your table>"' in str(info.value)


def test_missing_required_column_names_it(tmp_path):
    db = make_duckdb(tmp_path / "s.duckdb", {"orders": "SELECT 1 AS customer_id, 5.0 AS total"})
    with pytest.raises(SourceError) as info:
        open_source(db)
    assert "has no column ordered_at" in str(info.value)
    assert '[tables.orders] ordered_at = "<column or SQL expression>"' in str(info.value)


def test_column_names_match_ignoring_case_and_separators(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "OrderID,CustomerId,Ordered-At,TOTAL\n1,10,2026-01-05 10:00:00,20\n",
    })
    shop = open_source(folder)
    assert orders_rows(shop) == [(1, 10, "2026-01-05 10:00:00", 20.0)]
    assert shop.present_columns["orders"] == {"order_id", "customer_id", "ordered_at", "total"}


def test_two_columns_that_could_be_one_field_are_not_guessed(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "CustomerId,customer-id,ordered_at,total\n10,11,2026-01-05 10:00:00,20\n",
    })
    with pytest.raises(SourceError, match="has no column customer_id"):
        open_source(folder)


def test_a_close_column_is_the_example_of_the_mapping_line(tmp_path):
    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "customer_id,order_date,amount\n10,2026-01-05 10:00:00,20\n",
    })
    with pytest.raises(SourceError) as info:
        open_source(folder)
    assert "has no column ordered_at, total" in str(info.value)
    assert str(info.value).endswith('[tables.orders] ordered_at = "order_date"')


def test_optional_table_missing_required_column_is_set_aside(tmp_path):
    db = make_duckdb(tmp_path / "s.duckdb", {"orders": TINY_ORDERS, "events": "SELECT 1 AS customer_id"})
    shop = open_source(db)
    assert "events" not in shop.table_names
    assert "has no column occurred_at, type" in shop.unusable["events"].problem


def test_bad_values_become_null_not_errors(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {
        "orders.csv": "customer_id,ordered_at,total\n1,2026-01-01,abc\n2,not a date,5\n",
    })
    shop = open_source(folder)
    assert shop.con.execute("SELECT customer_id, ordered_at IS NULL, total FROM orders ORDER BY 1").fetchall() == [
        (1, False, None), (2, True, 5.0),
    ]


def test_locked_database_is_explained(tmp_path):
    import subprocess
    import sys

    db = make_duckdb(tmp_path / "s.duckdb", {"orders": TINY_ORDERS})
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(SourceError, match="locked by another program"):
            open_source(db)
    finally:
        holder.kill()
        holder.wait()


def test_a_quoted_value_past_the_sniffers_sample_is_read(tmp_path):
    """No quote in the first 25,000 rows, then an RFC 4180 quoted amount: read, not a failure."""
    lines = ["customer_id,ordered_at,total"] + [f"{i},2026-01-01,10.00" for i in range(25_000)]
    lines.append('25000,2026-01-02,"1,234.56"')
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shop = open_source(tmp_path / "orders.csv")
    try:
        assert shop.con.execute("SELECT count(*), max(total) FROM orders").fetchone() == (25_001, 1234.56)
    finally:
        shop.close()
