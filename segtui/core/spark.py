"""Run segtui's questions on Spark: the same portable query `segtui sql --dialect spark` prints,
on a Spark session, over the shop's tables read from a folder of Parquet or CSV files.

Planning stays on DuckDB: the folder is opened as a shop (which tables and columns exist, the
data's dates, the segment catalogue compiled against the reference engine's fields), and
``core.portable`` writes the one query; Spark only runs it. A table is ``NAME.parquet``,
``NAME.csv`` or a folder ``NAME/`` of Parquet parts, NAME a contract table (orders,
customers...), with the contract's column names. Timestamps are read in UTC, as DuckDB reads
them. PySpark is an optional extra (``pip install 'segtui[spark]'``, Java 17); Spark Connect is
reached with ``remote`` (``sc://host:15002``) or Spark's own ``SPARK_REMOTE`` variable.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
        raise SparkError(f"--engine spark reads a folder of Parquet or CSV files (one per table); "
                         f"{folder} is not one (segtui sql prints the query for other sources)")


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
