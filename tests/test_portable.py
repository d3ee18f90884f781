"""`segtui sql`: one self-contained query per question, from the portable reference SQL, in
every dialect; on DuckDB it returns exactly the members and features the engine computes.
(On Spark: tests/test_feature_sql_spark.py.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
import sqlglot
from conftest import assert_one_line_error, run_cli

from segtui.core import portable
from segtui.core.generate import generate
from segtui.core.workspace import open_workspace

AS_OF_DATES = [date(2026, 3, 31), date(2026, 6, 30)]


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("portable") / "shop.duckdb"
    generate(path, customers=400, seed=11)
    return path


@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_every_segment_query_returns_the_engines_members(shop, as_of):
    """Run on DuckDB, the query of each built-in segment (reference files, as CTEs) returns the
    members the engine's own build (DuckDB overrides, tables) finds."""
    engine = open_workspace(shop, as_of=as_of)
    reference = open_workspace(shop, as_of=as_of, fields=None, engine="reference", use_cache=False)
    try:
        checked = 0
        for compiled in reference.catalog.usable:
            text = portable.query(reference.builder, "duckdb", where=str(compiled.sql))
            got = [row[0] for row in reference.con.execute(text).fetchall()]
            sql = str(engine.segment(compiled.name).sql)
            expected = [row[0] for row in engine.con.execute(
                f"SELECT customer_id FROM customer_features WHERE {sql} ORDER BY customer_id").fetchall()]
            assert got == expected, compiled.name
            checked += 1
        assert checked >= 40
    finally:
        engine.close()
        reference.close()


def test_feature_query_returns_the_feature_table(shop):
    engine = open_workspace(shop, as_of=AS_OF_DATES[1])
    reference = open_workspace(shop, as_of=AS_OF_DATES[1], fields=None, engine="reference", use_cache=False)
    try:
        names = ["orders", "total_spent", "favorite_category", "overdue_ratio", "has_abandoned_cart", "rfm_segment"]
        got = reference.con.execute(portable.query(reference.builder, "duckdb", fields=names)).fetchall()
        expected = engine.con.execute(f"SELECT customer_id, {', '.join(names)} FROM customer_features "
                                      "ORDER BY customer_id").fetchall()
        assert len(got) == len(expected) > 300
        for a, b in zip(got, expected):
            assert a == pytest.approx(b) if any(isinstance(v, float) for v in a) else a == b
    finally:
        engine.close()
        reference.close()


@pytest.mark.parametrize("dialect", portable.DIALECTS)
def test_sql_parses_back_in_its_dialect(shop, dialect):
    """Every dialect's text parses back with sqlglot in that dialect, for a segment, a filter
    using in_segment, and every feature."""
    for args in (["--segment", "Best customers"], ["--where", "in_segment('Lapsed') AND orders >= 2"], ["--features"]):
        result = run_cli("sql", str(shop), "--dialect", dialect, "--as-of", "2026-06-30", *args)
        assert result.returncode == 0, result.stderr
        text = result.stdout
        assert text.startswith(f"-- segtui sql: shop.duckdb as of 2026-06-30, {dialect}")
        trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
        assert len(trees) == 1 and trees[0].find(sqlglot.exp.Select) is not None, args


def test_sql_refuses_clearly(shop):
    assert_one_line_error(run_cli("sql", str(shop), "--segment", "Best customers", "--dialect", "oracle"), 2, "dialect")
    assert_one_line_error(run_cli("sql", str(shop), "--dialect", "spark"), 2, "--where")
    assert_one_line_error(run_cli("sql", str(shop), "--segment", "Likely lost", "--dialect", "spark"), 1,
                          "DuckDB only")
    assert_one_line_error(run_cli("sql", str(shop), "--features", "p_alive", "--dialect", "spark"), 1, "p_alive")
    assert_one_line_error(run_cli("sql", str(shop), "--features", "orders,abandoned_cart"), 1,
                          "did you mean 'has_abandoned_cart'")


def test_what_a_dialect_lacks_is_refused_not_written_approximately(shop, monkeypatch):
    """sqlglot knows BigQuery sorts only an ARRAY_AGG: a query needing list_sort is refused for
    BigQuery, naming the family and its fields, and still written for the others."""
    import dataclasses

    ws = open_workspace(shop, as_of=date(2026, 6, 30), fields=None, engine="reference", use_cache=False)
    try:
        builder = ws.builder
        with pytest.raises(portable.PortableError, match="cannot be written for bigquery: ARRAY_SORT"):
            portable.query(builder, "bigquery", where="len(list_sort([orders])) > 0")
        core = builder.families_for(["orders"])
        field = next(f for f in builder.available if f.family not in core and f.family != "predictive"
                     and not builder.file(f.family).is_columns)
        family, original = field.family, builder.file(field.family)
        code = "\n".join(line for line in original.sql.splitlines() if not line.lstrip().startswith("--"))
        changed = dataclasses.replace(original, sql=code.replace("SELECT", "SELECT list_sort([1]) AS _x,", 1))
        monkeypatch.setitem(builder._files, family, changed)
        with pytest.raises(portable.PortableError, match=rf"{field.name}.*\({family} features\) cannot be "
                                                         r"written for bigquery"):
            portable.query(builder, "bigquery", where=f"{field.name} IS NULL AND orders > 1")
        assert "ARRAY_SORT" in portable.query(builder, "spark", where=f"{field.name} IS NULL").upper()
        assert portable.query(builder, "bigquery", where="overdue_ratio > 1")  # other families still write
    finally:
        ws.close()


def test_a_mapping_file_is_no_duckdb_source(tmp_path):
    mapping = tmp_path / "lake.toml"
    mapping.write_text('[tables.orders]\nfrom = "sales.orders"\n')
    assert_one_line_error(run_cli("count", str(mapping), "--segment", "Lapsed"), 1, "is a mapping file")


def test_engine_spark_without_pyspark_says_how_to_install_it(shop, tmp_path):
    """Where PySpark is not installed, `--engine spark` says in one line how to get it."""
    fake = tmp_path / "no_pyspark" / "pyspark"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named pyspark')\n")
    result = run_cli("count", str(shop), "--segment", "Lapsed", "--engine", "spark",
                     env={"PYTHONPATH": str(fake.parent)})
    assert_one_line_error(result, 1, "pip install 'segtui[spark]'")
    assert_one_line_error(run_cli("count", str(shop), "--segment", "Lapsed", "--engine", "flink"), 2, "--engine")


def test_engine_spark_wants_a_folder_of_files(shop, tmp_path):
    """A DuckDB file is refused at once, before a Spark session starts (where PySpark is there)."""
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install '.[spark]')")
    result = run_cli("count", str(shop), "--segment", "Lapsed", "--engine", "spark")
    assert_one_line_error(result, 1, "reads a folder of Parquet or CSV files")
    folder = tmp_path / "mapped"
    folder.mkdir()
    con = duckdb.connect(str(shop), read_only=True)
    con.execute(f"COPY (SELECT customer_id AS cust, * EXCLUDE (customer_id) FROM orders) TO '{folder / 'orders.csv'}'")
    con.close()
    (folder / "segtui.toml").write_text('[tables.orders]\ncustomer_id = "cust"\n')
    result = run_cli("count", str(folder), "--segment", "Lapsed", "--engine", "spark")
    assert_one_line_error(result, 1, "give a mapping file of Spark tables as the source")
    missing = run_cli("count", str(tmp_path / "nothing.toml"), "--segment", "Lapsed", "--engine", "spark")
    assert_one_line_error(missing, 1, "mapping file not found")
    # a mapping file's own mistakes are told before Spark starts (no session: this takes a second)
    for text, words in [("[tables.orders\n", "not valid TOML"), ('[tables.order]\nfrom = "x"\n', "unknown table"),
                        ('[tables.customers]\nfrom = "crm.customers"\n', "no [tables.orders]")]:
        bad = tmp_path / "lake.toml"
        bad.write_text(text)
        assert_one_line_error(run_cli("count", str(bad), "--segment", "Lapsed", "--engine", "spark"), 1, words)


def test_spark_progress_says_which_stage_and_how_many_tasks():
    """The bar of `--engine spark` reads Spark's status tracker (no Spark needed here)."""
    import threading
    import time
    from types import SimpleNamespace

    from segtui.core import spark as engine

    stages = {3: SimpleNamespace(stageId=3, numTasks=8, numCompletedTasks=5),
              4: SimpleNamespace(stageId=4, numTasks=2, numCompletedTasks=0)}
    tracker = SimpleNamespace(getActiveStageIds=lambda: sorted(stages), getStageInfo=stages.get)
    assert engine.describe(tracker) == "2 stages: 5/10 tasks"
    del stages[4]
    assert engine.describe(tracker) == "stage 3: 5/8 tasks"
    stages.clear()
    assert engine.describe(tracker) == "planning the query…"

    stages[7] = SimpleNamespace(stageId=7, numTasks=4, numCompletedTasks=1)
    seen: list[str] = []
    session = SimpleNamespace(sparkContext=SimpleNamespace(statusTracker=lambda: tracker))
    with engine.watch(session, seen.append, every=0.01):
        time.sleep(0.2)
    assert seen and seen[-1] == "stage 7: 1/4 tasks"
    count = len(seen)
    time.sleep(0.05)
    assert len(seen) == count and not any(t.name == "segtui-spark-progress" for t in threading.enumerate())

    class Connect:  # Spark Connect: no status tracker, no progress thread, no error
        @property
        def sparkContext(self):
            raise RuntimeError("not supported in Spark Connect")

    with engine.watch(Connect(), seen.append):
        pass
