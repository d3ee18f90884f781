"""Run segtui's questions on Spark: the same portable query `segtui sql --dialect spark` prints,
on a Spark session, over the shop's tables read from a folder of Parquet or CSV files.

Planning stays on DuckDB: the folder is opened as a shop (which tables and columns exist, the
data's dates, the segment catalogue compiled against the reference engine's fields), and
``core.portable`` writes the one query; Spark only runs it. A table is ``NAME.parquet``,
``NAME.csv`` or a folder ``NAME/`` of Parquet parts, NAME a contract table (orders,
customers...), with the contract's column names. Timestamps are read in UTC, as DuckDB reads
them. PySpark is an optional extra (``pip install 'segtui[spark]'``, Java 17); Spark Connect is
reached with ``remote`` (``sc://host:15002``) or Spark's own ``SPARK_REMOTE`` variable.

Catalog tables: a mapping file (``segtui.toml``'s format) given as the source names, per
contract table, the Spark table to read (``from = "lake.sales.orders"``, or any table
reference Spark reads, ``parquet.`s3a://bucket/orders/` ``) and maps columns with Spark SQL
expressions, which run where the table lives. Each becomes a temp view with the contract's
columns and types, as the DuckDB source views are made (``core.source``); the plan is made
over empty DuckDB stand-ins of those views, with the data's dates asked of Spark.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from segtui.errors import SegtuiError

INSTALL = "the Spark engine needs PySpark: pip install 'segtui[spark]' (and Java 17)"


class SparkError(SegtuiError):
    """Spark is missing, unreachable, or refused the query (one line)."""


def _pyspark():
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkError(INSTALL) from None
    return SparkSession


def session_builder(master: str | None = None, remote: str | None = None):
    """The SparkSession builder: Spark Connect at ``remote`` (or ``SPARK_REMOTE``), else
    ``master`` (default ``local[*]``); UTC timestamps, no console progress bar (segtui shows
    its own)."""
    builder = _pyspark().builder.appName("segtui")
    remote = remote or os.environ.get("SPARK_REMOTE")
    if remote:
        builder = builder.remote(remote)
    else:
        builder = (builder.master(master or "local[*]").config("spark.ui.showConsoleProgress", "false")
                   .config("spark.ui.enabled", "false"))
    return builder.config("spark.sql.session.timeZone", "UTC")


def session(master: str | None = None, remote: str | None = None, log: Path | None = None):
    """A running Spark session (started here for a local master: seconds). The JVM's own
    output (startup warnings, its log) goes to ``log`` (default: the segtui log file), not to
    the terminal, where a failure is said in one line; so do PySpark's error records."""
    builder = session_builder(master, remote)
    for name in ("SQLQueryContextLogger", "py4j", "pyspark"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if log is None:
        from segtui.locations import log_file

        log = log_file()
    try:
        with _stderr_to(log):  # the JVM started now keeps this stderr
            spark = builder.getOrCreate()
    except Exception as error:  # noqa: BLE001 - Java missing, a master or server not reachable
        raise SparkError(f"cannot start Spark: {_first_line(error)} (details in {log})") from None
    if not remote and not os.environ.get("SPARK_REMOTE"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """File descriptor 2 appended to ``path`` for the block (what child processes inherit)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        yield
        return
    saved = os.dup(2)
    try:
        sys.stderr.flush()
        os.dup2(target, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def table_files(folder: Path, tables: Iterable[str]) -> dict[str, Path]:
    """The file (or folder of Parquet parts) of each of ``tables`` in ``folder``."""
    found: dict[str, Path] = {}
    for table in tables:
        for candidate in (folder / f"{table}.parquet", folder / f"{table}.csv", folder / table):
            if candidate.exists():
                found[table] = candidate
                break
    return found


def require_folder(folder: Path) -> None:
    """Spark reads a shop from a folder of files: anything else is refused in one line."""
    if not folder.is_dir():
        raise SparkError(f"--engine spark reads a folder of Parquet or CSV files (one per table) or the Spark "
                         f"tables a mapping file names; {folder} is neither (segtui sql prints the query for "
                         f"other sources)")


def register(spark, folder: Path, tables: Iterable[str]) -> None:
    """Each table of the shop as a temp view of its contract name on ``spark``."""
    require_folder(folder)
    wanted = list(tables)
    files = table_files(folder, wanted)
    missing = [t for t in wanted if t not in files]
    if missing:
        raise SparkError(f"no file for table {missing[0]} in {folder} (NAME.parquet, NAME.csv or a folder NAME/)")
    for table, path in files.items():
        try:
            if path.suffix == ".csv":
                frame = spark.read.option("header", True).option("inferSchema", True).csv(str(path))
            else:
                frame = spark.read.parquet(str(path))
        except Exception as error:  # noqa: BLE001 - unreadable file
            raise SparkError(f"Spark cannot read {path}: {_first_line(error)}") from None
        frame.createOrReplaceTempView(table)


#: Spark's name of each contract type (``core.source.CONTRACT``).
SPARK_TYPES = {"BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "VARCHAR": "STRING", "TIMESTAMP": "TIMESTAMP",
               "DATE": "DATE", "BOOLEAN": "BOOLEAN"}
_INTEGRAL = ("tinyint", "smallint", "int", "bigint")


@dataclass
class CatalogTable:
    """One contract table of a mapping file, as Spark reads it."""

    name: str  # the contract table
    origin: str  # the Spark table reference (``from``)
    exprs: dict[str, str]  # contract column -> Spark SQL over origin
    types: dict[str, str]  # contract column -> Spark's type of its expression (simpleString)


def is_mapping(source: Path) -> bool:
    """A source that is a mapping file: the Spark catalog tables it names are the shop."""
    return source.suffix.lower() == ".toml"


def read_catalog_mapping(mapping: Path) -> dict[str, dict[str, str]]:
    """The tables of a mapping file of Spark tables, refused in one line when it is no such
    file, not TOML, names an unknown table or column, or has no orders (before Spark starts)."""
    from segtui.core.source import _read_mapping

    if not mapping.is_file():
        raise SparkError(f"mapping file not found: {mapping}")
    spec = _read_mapping(mapping)
    if "orders" not in spec:
        raise SparkError(f"{mapping.name}: no [tables.orders]; name the Spark table of the orders: "
                         f"[tables.orders] from = \"db.orders\"")
    return spec


def catalog_tables(spark, mapping: Path) -> dict[str, CatalogTable]:
    """Each table the mapping file names, checked on ``spark``: the table reads, every
    required column is mapped or found by name (as ``core.source`` finds them), every
    expression works. A problem is one line naming the mapping entry."""
    from segtui.core.source import CONTRACT, REQUIRED, _matching_column

    spec = read_catalog_mapping(mapping)
    tables: dict[str, CatalogTable] = {}
    for name, entries in spec.items():
        entries = dict(entries)
        origin = entries.pop("from", name)
        try:
            raw = spark.sql(f"SELECT * FROM {origin} LIMIT 0").columns
        except Exception as error:  # noqa: BLE001 - no such table, no access, a typo
            raise SparkError(f"{mapping.name}: tables.{name} from = {origin!r}: Spark cannot read it: "
                             f"{_first_line(error)}") from None
        exprs: dict[str, str] = {}
        for column in CONTRACT[name]:
            if column in entries:
                exprs[column] = entries[column]
            elif (found := _matching_column(column, raw)) is not None:
                exprs[column] = f"`{found}`"
        missing = [c for c in REQUIRED[name] if c not in exprs]
        if missing:
            raise SparkError(f"{mapping.name}: table '{name}' ({origin}) has no column {', '.join(missing)} (it has "
                             f"{', '.join(raw) or 'no columns'}); map it: [tables.{name}] {missing[0]} = "
                             f"\"<column or Spark SQL expression>\"")
        tables[name] = CatalogTable(name, origin, exprs, _expression_types(spark, mapping, name, origin, exprs))
    return tables


def _expression_types(spark, mapping: Path, name: str, origin: str, exprs: dict[str, str]) -> dict[str, str]:
    select = ", ".join(f"{expr} AS `{column}`" for column, expr in exprs.items())
    try:
        schema = spark.sql(f"SELECT {select} FROM {origin} LIMIT 0").schema
    except Exception:  # noqa: BLE001 - one expression does not work: say which
        for column, expr in exprs.items():
            try:
                spark.sql(f"SELECT {expr} FROM {origin} LIMIT 0").schema  # noqa: B018 - analysed here
            except Exception as error:  # noqa: BLE001
                raise SparkError(f"{mapping.name}: tables.{name}.{column} = {expr!r} does not work on {origin}: "
                                 f"{_first_line(error)}") from None
        raise
    return {f.name: f.dataType.simpleString() for f in schema.fields}


def id_types(tables: dict[str, CatalogTable]) -> dict[str, str]:
    """BIGINT for an id kind whose every column is an integer on Spark, else VARCHAR (the
    choice ``core.source`` makes for DuckDB's views)."""
    from segtui.core.source import ID_COLUMNS

    kinds: dict[str, set[str]] = {k: set() for k in ID_COLUMNS}
    for table in tables.values():
        for column in ID_COLUMNS:
            if column in table.types:
                kinds[column].add(table.types[column])
    return {k: "BIGINT" if types and all(t in _INTEGRAL for t in types) else "VARCHAR" for k, types in kinds.items()}


def register_catalog(spark, tables: dict[str, CatalogTable], ids: dict[str, str]) -> None:
    """Each catalog table as a temp view of its contract name with every contract column,
    cast to the contract's type (a value that does not cast is NULL, as on DuckDB); a column
    the table lacks is NULL, and orders without order_id get one per row."""
    from segtui.core.source import CONTRACT, ID

    for table in tables.values():
        parts = []
        for column, kind in CONTRACT[table.name].items():
            spark_type = SPARK_TYPES[ids[column] if kind == ID else kind]
            expr = table.exprs.get(column)
            if expr is None and (table.name, column) == ("orders", "order_id"):
                number = "monotonically_increasing_id() + 1"
                expr = f"-({number})" if spark_type == "BIGINT" else f"concat('#', CAST({number} AS STRING))"
            parts.append(f"CAST(NULL AS {spark_type}) AS `{column}`" if expr is None
                         else f"TRY_CAST(({expr}) AS {spark_type}) AS `{column}`")
        try:
            spark.sql(f"SELECT {', '.join(parts)} FROM {table.origin}").createOrReplaceTempView(table.name)
        except Exception as error:  # noqa: BLE001 - a cast Spark refuses (a struct to a number...)
            raise SparkError(f"table '{table.name}' ({table.origin}) does not read as the contract's columns: "
                             f"{_first_line(error)}") from None


def catalog_range(spark, tables: Iterable[str], mapping: Path):
    """The data's dates (``workspace.DataRange``) asked of Spark: the query DuckDB runs."""
    import sqlglot

    from segtui.core.features.build import data_dates_sql
    from segtui.core.workspace import DataRange

    first, last = run(spark, sqlglot.transpile(data_dates_sql(set(tables)), read="duckdb", write="spark")[0])[0]
    if last is None:
        raise SparkError(f"{mapping.name}: the Spark tables have no dated orders or events")
    return DataRange(first, last)


@contextmanager
def stand_in(tables: dict[str, CatalogTable], ids: dict[str, str]) -> Iterator[Path]:
    """A DuckDB file of empty tables with the columns the catalog tables have, in the
    contract's types: what the plan reads instead of the data (removed afterwards)."""
    import duckdb

    from segtui.core.source import CONTRACT, ID, quote_ident

    with tempfile.TemporaryDirectory(prefix="segtui-spark-") as folder:
        path = Path(folder) / "catalog.duckdb"
        con = duckdb.connect(str(path))
        try:
            for table in tables.values():
                kinds = CONTRACT[table.name]
                columns = ", ".join(f"{quote_ident(c)} {ids[c] if kinds[c] == ID else kinds[c]}" for c in table.exprs)
                con.execute(f"CREATE TABLE {table.name} ({columns})")
        finally:
            con.close()
        yield path


def describe(tracker) -> str:
    """What Spark is doing now, from its status tracker: the active stages and their tasks."""
    stages = [info for info in (tracker.getStageInfo(i) for i in tracker.getActiveStageIds()) if info is not None]
    if not stages:
        return "planning the query…"
    done = sum(info.numCompletedTasks for info in stages)
    total = sum(info.numTasks for info in stages)
    label = f"stage {stages[0].stageId}" if len(stages) == 1 else f"{len(stages)} stages"
    return f"{label}: {done}/{total} tasks"


@contextmanager
def watch(spark, report, every: float = 0.5) -> Iterator[None]:
    """Call ``report(text)`` with :func:`describe` every ``every`` seconds while the block runs
    (a local or cluster session; Spark Connect has no status tracker: nothing is reported)."""
    try:
        tracker = spark.sparkContext.statusTracker()
    except Exception:  # noqa: BLE001 - Spark Connect
        yield
        return
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(every):
            try:
                report(describe(tracker))
            except Exception:  # noqa: BLE001 - the session is ending
                return

    thread = threading.Thread(target=poll, name="segtui-spark-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def run(spark, sql: str, arrow: bool = False):
    """The rows of ``sql`` on ``spark`` (``arrow``: as one Arrow table), a refusal as one line."""
    try:
        frame = spark.sql(sql)
        return frame.toArrow() if arrow else frame.collect()
    except Exception as error:  # noqa: BLE001 - an analysis or execution error of Spark
        raise SparkError(f"Spark refused the query: {_first_line(error)}") from None


def counts(spark, builder, wheres: list[str]) -> tuple[int, list[int]]:
    """All customers and the members of each compiled filter SQL of ``wheres``, in one Spark
    query (``portable.counts_query`` over ``builder``'s shop and date)."""
    from segtui.core.portable import counts_query

    row = run(spark, counts_query(builder, "spark", wheres))[0]
    return int(row[0]), [int(n) for n in list(row)[1:]]


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]
