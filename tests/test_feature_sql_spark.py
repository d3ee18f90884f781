"""The portable reference files, transpiled by sqlglot and run on Spark, build the table DuckDB
builds from them. Runs where pyspark (and Java) are installed; skipped elsewhere.

Each base and family SELECT becomes a cached temp view of its name; the final join is
``build._final_sql`` transpiled too. Timestamps are UTC on both sides.
"""

from __future__ import annotations

import os
import time
from datetime import date

import pytest

pyspark = pytest.importorskip("pyspark")

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
