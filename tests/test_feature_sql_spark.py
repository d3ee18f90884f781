"""The portable reference files, transpiled by sqlglot and run on Spark, build the table DuckDB
builds from them; `segtui sql --dialect spark` and `--engine spark` give every built-in
segment the members DuckDB gives it. Runs where PySpark and Java are installed; skipped, with
the reason, elsewhere. One Spark session for the module (the CLI tests start their own).

Each base and family SELECT becomes a cached temp view of its name; the final join is
``build._final_sql`` transpiled too. Timestamps are UTC on both sides.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date

import pytest

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Java is not installed: Spark needs Java 17", allow_module_level=True)

from test_feature_sql import _same, random_shop, select_of  # noqa: E402

from segtui.core.features import build, catalog  # noqa: E402
from segtui.core.features.catalog import load_query, render  # noqa: E402

SPARK_TYPES = {"BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "VARCHAR": "STRING", "TIMESTAMP": "TIMESTAMP",
               "DATE": "DATE", "BOOLEAN": "BOOLEAN"}


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"  # Python's naive datetimes meet Spark's session time zone
    time.tzset()
    session = (SparkSession.builder.master("local[1]").config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = tz
    time.tzset()


def spark_features(spark, shop, as_of: date) -> list:
    """customer_features built on Spark from the shop's tables and the reference files."""
    for table in shop.tables:
        columns = shop.con.execute(f"DESCRIBE {table}").fetchall()
        schema = ", ".join(f"{c[0]} {SPARK_TYPES[c[1]]}" for c in columns)
        rows = shop.con.execute(f"SELECT * FROM {table}").fetchall()
        spark.createDataFrame(rows, schema).createOrReplaceTempView(table)

    def run(file: str) -> None:
        select = select_of(render(load_query(file).sql, as_of)).sql(dialect="spark")
        spark.sql(select).cache().createOrReplaceTempView(load_query(file).table)

    for file in ["base_asof.sql"] + [f for table, f in catalog._BASES.items() if table in shop.tables]:
        run(file)
    assert {"customers", "events", "reviews"} <= shop.tables, "empty bases are not made here"
    chosen, available, _ = catalog._plan(shop.tables, shop.present_columns, engine="reference")
    files = {family: queries[0] for family, queries in chosen.items()}
    for query in files.values():
        if not query.is_columns:
            run(query.file)
    final = select_of(build._final_sql(available, files, as_of, {})).sql(dialect="spark")
    return [tuple(row) for row in spark.sql(final).orderBy("customer_id").collect()]


@pytest.mark.parametrize(("seed", "shape", "as_of"), [
    (1, {}, date(2024, 3, 31)),
    (4, {"items": False}, date(2024, 2, 10)),
])
def test_spark_builds_the_reference_table(spark, seed, shape, as_of):
    shop = random_shop(seed, **shape)
    shop.engine = "reference"
    shop.build(as_of)
    names = [d[0] for d in shop.con.execute("SELECT * FROM customer_features LIMIT 0").description]
    expected = shop.con.execute("SELECT * FROM customer_features ORDER BY customer_id").fetchall()
    got = spark_features(spark, shop, as_of)
    assert len(got) == len(expected) > 30
    for duck, sparks in zip(expected, got):
        diff = {name: (d, s) for name, d, s in zip(names, duck, sparks) if not _same(d, s)}
        assert not diff, (duck[0], diff)


# ---------------------------------------------------------------------------------------------
# `segtui sql --dialect spark` and `--engine spark`: the same members as DuckDB


@pytest.fixture(scope="module")
def parquet_shop(tmp_path_factory):
    """A generated shop (600 customers) exported to a folder of Parquet files, one per table."""
    from segtui.core.generate import generate
    from segtui.core.source import open_source

    folder = tmp_path_factory.mktemp("lake")
    db = folder.parent / "generated.duckdb"
    generate(db, customers=600, seed=13)
    shop = open_source(db)
    try:
        for table in sorted(shop.table_names):
            shop.con.execute(f"COPY (SELECT * FROM {table}) TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
    finally:
        shop.close()
    return folder


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return a == b


@pytest.mark.parametrize("as_of", [date(2026, 2, 28), date(2026, 6, 30)])
def test_every_segment_on_spark_has_the_duckdb_members(spark, parquet_shop, as_of):
    """The feature table written for Spark (reference files as CTEs) equals DuckDB's own build
    (its overrides) column by column, and every built-in segment's filter, transpiled, selects
    the same customers; the one-query count of all segments (`segments --engine spark`) agrees."""
    import sqlglot

    from segtui.core import portable
    from segtui.core import spark as engine
    from segtui.core.workspace import open_workspace

    engine.register(spark, parquet_shop, ["customers", "events", "order_items", "orders", "products", "returns",
                                          "reviews"])
    duck = open_workspace(parquet_shop, as_of=as_of, use_cache=False)
    reference = open_workspace(parquet_shop, as_of=as_of, fields=None, engine="reference", use_cache=False)
    try:
        names = [n for n in reference.builder.available_names]
        spark.sql(portable.query(reference.builder, "spark", fields=names)).cache().createOrReplaceTempView("cf")
        got = [tuple(r) for r in spark.sql("SELECT * FROM cf ORDER BY customer_id").collect()]
        expected = duck.con.execute(f"SELECT customer_id, {', '.join(names)} FROM customer_features "
                                    "ORDER BY customer_id").fetchall()
        assert len(got) == len(expected) > 500
        for a, b in zip(got, expected):
            diff = {n: (x, y) for n, x, y in zip(["customer_id", *names], a, b) if not _close(x, y)}
            assert not diff, (b[0], diff)
        usable = reference.catalog.usable
        assert len(usable) >= 40
        # every segment's membership in one Spark query (one column of flags per segment)
        flags = ", ".join(f"COALESCE(({sqlglot.transpile(str(c.sql), read='duckdb', write='spark')[0]}), FALSE) AS m{i}"
                          for i, c in enumerate(usable))
        rows = spark.sql(f"SELECT customer_id, {flags} FROM cf ORDER BY customer_id").collect()
        for i, compiled in enumerate(usable):
            members = [r[0] for r in rows if r[i + 1]]
            sql = str(duck.segment(compiled.name).sql)
            assert members == [r[0] for r in duck.con.execute(
                f"SELECT customer_id FROM customer_features WHERE {sql} ORDER BY customer_id").fetchall()], compiled.name
        row = spark.sql(portable.counts_query(reference.builder, "spark", [str(c.sql) for c in usable])).collect()[0]
        counts = duck.count_all()
        assert list(row) == [counts.total, *(counts[c.name] for c in usable)]
    finally:
        spark.catalog.dropTempView("cf")
        duck.close()
        reference.close()


def test_count_on_spark_from_the_command_line(parquet_shop):
    """`segtui count --engine spark` (its own local Spark) prints what DuckDB counts."""
    from conftest import run_cli

    args = ["count", str(parquet_shop), "--segment", "Late for their own rhythm", "--as-of", "2026-06-30"]
    on_spark = run_cli(*args, "--engine", "spark", "--spark-master", "local[1]", timeout=300)
    assert on_spark.returncode == 0, on_spark.stderr
    assert on_spark.stderr == ""  # the JVM's chatter goes to the log file
    assert on_spark.stdout.strip() == run_cli(*args).stdout.strip() != "0"


def test_spark_connect_url_reaches_the_session_builder(monkeypatch):
    from segtui.core import spark as engine

    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    assert engine.session_builder(remote="sc://spark.example:15002")._options["spark.remote"] == "sc://spark.example:15002"
    monkeypatch.setenv("SPARK_REMOTE", "sc://from-env:15002")
    assert engine.session_builder()._options["spark.remote"] == "sc://from-env:15002"
    monkeypatch.delenv("SPARK_REMOTE")
    local = engine.session_builder(master="local[2]")._options
    assert local["spark.master"] == "local[2]" and "spark.remote" not in local
    assert local["spark.sql.session.timeZone"] == "UTC"


def test_trend_and_export_on_spark_from_the_command_line(parquet_shop, tmp_path):
    """`trend --engine spark` gives DuckDB's counts at every date; `export --engine spark` the
    same members and values."""
    import json

    from conftest import run_cli

    trend = ["trend", str(parquet_shop), "--segment", "Lapsed", "--from", "2026-03-31", "--json"]
    on_spark = run_cli(*trend, "--engine", "spark", "--spark-master", "local[1]", timeout=300)
    assert on_spark.returncode == 0, on_spark.stderr
    assert json.loads(on_spark.stdout) == json.loads(run_cli(*trend).stdout)
    export = ["export", str(parquet_shop), "--segment", "Best customers", "--columns", "customer_id,orders,total_spent"]
    got = run_cli(*export, "--out", str(tmp_path / "spark.csv"), "--engine", "spark", "--spark-master", "local[1]",
                  timeout=300)
    assert got.returncode == 0, got.stderr
    assert run_cli(*export, "--out", str(tmp_path / "duck.csv")).returncode == 0
    assert (tmp_path / "spark.csv").read_text() == (tmp_path / "duck.csv").read_text()


@pytest.fixture(scope="module")
def lake_mapping(parquet_shop, tmp_path_factory):
    """The Parquet shop as a lake a mapping file names: the orders under other names (Cust, a
    yyyyMMddHHmmss number, money as text), read as ``parquet.`path```; the other tables as they are."""
    import duckdb

    folder = tmp_path_factory.mktemp("catalog")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT customer_id AS Cust, CAST(strftime(ordered_at, '%Y%m%d%H%M%S') AS BIGINT) AS stamp, "
                f"CAST(total AS VARCHAR) AS dollars, * EXCLUDE (customer_id, ordered_at, total) "
                f"FROM '{parquet_shop / 'orders.parquet'}') TO '{folder / 'transactions.parquet'}' (FORMAT parquet)")
    con.close()
    lines = ["[tables.orders]", f'from = "parquet.`{folder / "transactions.parquet"}`"', 'customer_id = "Cust"',
             """ordered_at = "to_timestamp(CAST(stamp AS STRING), 'yyyyMMddHHmmss')\"""", 'total = "CAST(dollars AS DOUBLE)"']
    for table in ("customers", "events", "order_items", "products", "returns", "reviews"):
        lines += ["", f"[tables.{table}]", f'from = "parquet.`{parquet_shop / (table + ".parquet")}`"']
    mapping = folder / "lake.toml"
    mapping.write_text("\n".join(lines) + "\n")
    return mapping


def test_catalog_tables_of_a_mapping_file_on_spark(lake_mapping, parquet_shop):
    """`segments --engine spark` over the tables a mapping file names (columns mapped with
    Spark SQL) counts every segment as DuckDB does from the files themselves; the mapping
    file is named in the output and left as it was. One Spark run (a session takes ~15 s to
    start): the table a user reads, its rows compared with DuckDB's JSON."""
    import json

    from conftest import run_cli

    before = lake_mapping.read_bytes()
    on_spark = run_cli("segments", str(lake_mapping), "--as-of", "2026-06-30", "--engine", "spark",
                       "--spark-master", "local[1]", timeout=300)
    assert on_spark.returncode == 0, on_spark.stderr
    assert "lake.toml · as of 2026-06-30" in on_spark.stdout, on_spark.stdout
    duck = {s["name"]: s for s in json.loads(run_cli("segments", str(parquet_shop), "--as-of", "2026-06-30",
                                                     "--json").stdout)}
    got = {}  # name -> (count or None, note), from the table's rows: group │ segment │ customers │ % │ note
    for line in on_spark.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 5 and cells[1] in duck:
            got[cells[1]] = (None if cells[2] == "-" else int(cells[2].replace(",", "")), cells[4])
    assert got.keys() == duck.keys()
    compared = [name for name, (count, _) in got.items() if count is not None]
    assert len(compared) >= 40 and all(got[n][0] == duck[n]["count"] for n in compared), [
        (n, got[n][0], duck[n]["count"]) for n in compared if got[n][0] != duck[n]["count"]]
    assert sum(duck[n]["count"] for n in compared) > 0
    assert {note for count, note in got.values() if count is None} == {
        "unavailable: needs segtui's own model fit (DuckDB only)"}
    assert lake_mapping.read_bytes() == before


def test_catalog_mapping_mistakes_are_one_line(spark, lake_mapping, tmp_path):
    """A table Spark cannot read, an expression that does not work, a required column neither
    mapped nor found, no orders: each names the mapping entry; ids of integers stay BIGINT."""
    from segtui.core import spark as engine

    good = lake_mapping.read_text()
    tables = engine.catalog_tables(spark, lake_mapping)
    assert engine.id_types(tables) == {"customer_id": "BIGINT", "order_id": "BIGINT", "product_id": "BIGINT"}
    assert tables["orders"].exprs["customer_id"] == "Cust" and tables["customers"].exprs["customer_id"] == "`customer_id`"
    cases = [
        (good.replace("transactions.parquet", "nothing.parquet"), "tables.orders from = .* Spark cannot read it"),
        (good.replace('customer_id = "Cust"', 'customer_id = "Custt"'),
         r"tables\.orders\.customer_id = 'Custt' does not work on"),
        (good.replace('customer_id = "Cust"\n', ""), r"table 'orders' .* has no column customer_id \(it has Cust, "),
        ("[tables.customers]" + good.split("[tables.customers]")[1].split("[tables.events]")[0], r"no \[tables\.orders\]"),
    ]
    for text, message in cases:
        mapping = tmp_path / "bad.toml"
        mapping.write_text(text)
        with pytest.raises(engine.SparkError, match=message):
            engine.catalog_tables(spark, mapping)
