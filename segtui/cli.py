"""The command line: arguments, exit codes and output; the engine in segtui.core does the work.

Exit codes (DESIGN): 0 ok, 1 a user or data error shown as one line on stderr, 2 usage,
130 interrupted, 141 (silently) the reader of stdout went away, as in ``export --out - | head``.
Stdout carries data only; messages and progress go to stderr. Textual is imported only by
``open`` and ``demo`` so the headless commands start fast.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from segtui import __version__
from segtui.errors import SegtuiError

app = typer.Typer(
    name="segtui",
    help="Explore behavioural customer segments in shop data (a DuckDB file or a folder of CSV/Parquet).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SourceArg = Annotated[Path, typer.Argument(help="A DuckDB file, a folder of CSV/Parquet files, or one CSV/Parquet file.")]
MappingOpt = Annotated[Optional[Path], typer.Option("--mapping", help="Mapping file (default: segtui.toml beside the source).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
SnapshotOpt = Annotated[
    bool, typer.Option("--snapshot", help="Open a private copy of a DuckDB file that another program holds open for writing.")
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Build the features afresh instead of reading (and writing) the feature cache.")
]
DiscountOpt = Annotated[
    float, typer.Option("--discount-rate", min=0.0, max=1.0,
                        help="Discount clv_365d's future spend at this yearly rate (0.1 = 10 %; default 0: undiscounted).")
]


def _parse_date(value: Optional[str], flag: str = "--as-of") -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=flag) from None


EngineOpt = Annotated[str, typer.Option("--engine", help="Where the query runs: duckdb (here) or spark.")]
SparkMasterOpt = Annotated[Optional[str], typer.Option(
    "--spark-master", help="With --engine spark: the Spark master URL (default local[*]).")]
SparkRemoteOpt = Annotated[Optional[str], typer.Option(
    "--spark-remote", help="With --engine spark: a Spark Connect URL, sc://host:15002 (default: $SPARK_REMOTE).")]
AsOfOpt = Annotated[
    Optional[str], typer.Option("--as-of", help="Compute features as of this date (YYYY-MM-DD, from the first order to the last activity; default: the last activity).")
]


def _progress(total: float | None = 1.0):
    """A Rich progress bar on stderr, and a callback(step, fraction) that drives it (total
    None: a pulsing bar, for one step whose length is not known).

    Off when stderr is not a terminal: cron mail and CI logs get no bar debris.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    share = [TextColumn("{task.percentage:>3.0f}%")] if total is not None else []
    progress = Progress(
        TextColumn("{task.description:<29}"), BarColumn(), *share,
        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal,
    )
    task = progress.add_task("starting", total=total)

    def update(step: str, fraction: float) -> None:
        progress.update(task, description=step, completed=fraction)

    return progress, update


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"segtui {__version__}")
        raise typer.Exit(0)


@app.command()
def check(source: SourceArg, mapping: MappingOpt = None, json_out: JsonOpt = False, snapshot: SnapshotOpt = False) -> None:
    """What was found in SOURCE, what is usable, and what is wrong in the data."""
    from segtui.core.check import check_shop
    from segtui.core.source import open_source

    shop = open_source(source, mapping, snapshot=snapshot)
    try:
        report = check_shop(shop)
    finally:
        shop.close()
    if json_out:
        out.print_json(json.dumps(report.to_dict(), default=str))
    else:
        from segtui.render import render_check

        out.print(render_check(report))
    if not report.usable:
        raise typer.Exit(1)


@app.command()
def generate(
    out_path: Annotated[Path, typer.Argument(metavar="OUT.duckdb", help="The DuckDB file to write.")],
    customers: Annotated[int, typer.Option("--customers", min=1, help="How many customers.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same shop.")] = 42,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Write a deterministic demo shop with planted customer archetypes."""
    from segtui.core.generate import generate as run_generate

    progress, update = _progress()
    with progress:
        result = run_generate(out_path, customers=customers, seed=seed, force=force, progress=update)
    err.print(f"wrote {out_path} ({_describe_generated(result)})")


SegmentsOpt = Annotated[
    Optional[Path], typer.Option("--segments", help="Folder of your own segment files (default: the user config folder).")
]
WhereOpt = Annotated[Optional[str], typer.Option("--where", help="A filter expression, e.g. \"orders >= 3 AND overdue_ratio > 2\".")]
SegmentOpt = Annotated[Optional[str], typer.Option("--segment", help="The name of a built-in or saved segment.")]


@contextmanager
def _workspace(
    source: Path, as_of: Optional[str], mapping: Optional[Path], segments: Optional[Path] = None, snapshot: bool = False,
    no_cache: bool = False, every_field: bool = True, discount_rate: float = 0.0,
) -> Iterator:
    """The workspace of a headless command, open for the body of a ``with``, which prints the
    command's result. ``every_field``: build every feature first (``segments``, ``fields``, a
    full export); otherwise the body asks for what its question reads (:func:`_require`). A
    fresh build is copied into the feature cache after that body (~2 s at a million customers:
    the answer no longer waits for it), also when the body failed (a typo in a filter must not
    cost the next run its build), but not after Ctrl-C."""
    from segtui.core.workspace import ALL, open_workspace

    if snapshot:
        err.print(f"reading a snapshot copy of {source} taken now; later writes to it are not seen", markup=False)
    progress, update = _progress()
    with progress:
        ws = open_workspace(source, _parse_date(as_of), mapping, segments, progress=update, snapshot=snapshot,
                            use_cache=not no_cache, store_later=True, fields=ALL if every_field else None,
                            discount_rate=discount_rate)
    interrupted = False
    try:
        yield ws
    except BaseException as exc:
        interrupted = _is_interrupt(exc)
        raise
    finally:
        try:
            if not interrupted:
                _store_pending(ws)
        finally:
            ws.close()


@contextmanager
def _on_spark(source: Path, as_of: Optional[str], mapping: Optional[Path], segments: Optional[Path],
              master: Optional[str], remote: Optional[str]) -> Iterator:  # fmt: skip
    """(workspace, Spark session) for ``--engine spark``, a progress line while it works: the
    shop planned on DuckDB with the reference files (tables, dates, the segments) and read
    by Spark, from a folder of files or from the catalog tables a mapping file names."""
    from segtui.core import spark as engine
    from segtui.core.workspace import open_workspace

    engine._pyspark()  # the install hint before anything else
    path = Path(source).expanduser()
    day = _parse_date(as_of)
    catalog = engine.is_mapping(path)
    if catalog and mapping is not None:
        raise typer.BadParameter("the source is the mapping file already", param_hint="--mapping")
    if catalog:
        engine.read_catalog_mapping(path)  # its mistakes before Spark takes seconds to start
    with ExitStack() as stack:
        if not catalog:
            engine.require_folder(path)  # before Spark takes seconds to start
            ws = open_workspace(source, day, mapping, segments, use_cache=False, fields=None, engine="reference")
            stack.callback(ws.close)
            if ws.shop.mapping_file is not None:
                raise engine.SparkError(f"--engine spark reads a folder's files by the contract's names, without "
                                        f"{ws.shop.mapping_file.name}; to map tables and columns, give a mapping "
                                        f"file of Spark tables as the source (README: When the data outgrows one "
                                        f"machine)")
        progress, update = _progress(total=None)
        stack.enter_context(progress)
        update("spark: starting a session", 0.0)
        session = engine.session(master, remote)
        if catalog:
            update("spark: reading the catalog tables", 0.0)
            tables = engine.catalog_tables(session, path)
            ids = engine.id_types(tables)
            engine.register_catalog(session, tables, ids)
            update("spark: finding the data's dates", 0.0)
            span = engine.catalog_range(session, tables, path)
            plan = stack.enter_context(engine.stand_in(tables, ids))
            ws = open_workspace(plan, day, None, segments, use_cache=False, fields=None, engine="reference",
                                span=span)
            stack.callback(ws.close)
            ws.shop.path = path  # what the output names: the mapping file, not the stand-in
        else:
            engine.register(session, path, sorted(ws.shop.table_names))
        update("spark: running the query", 0.0)
        with engine.watch(session, lambda text: update(f"spark: {text}", 0.0)):
            yield ws, session


def _spark_point(ws, session, sql: str, day):
    """The count of compiled filter SQL as of ``day``, on Spark (planned at that date)."""
    from segtui.core import spark as engine
    from segtui.core.timeline import TrendPoint

    total, (n,) = engine.counts(session, ws.at(day).builder, [sql])
    return TrendPoint(day, n, total)


def _check_engine(engine: str) -> None:
    if engine not in ("duckdb", "spark"):
        raise typer.BadParameter(f"{engine!r} is not an engine; use duckdb or spark", param_hint="--engine")


def _require(ws, fields) -> None:
    """Build (or read from the cache) the features a question reads, with a progress bar."""
    progress, update = _progress()
    with progress:
        ws.require(fields, update)


def _store_pending(ws) -> None:
    """Copy a fresh build into the feature cache, with a bar; Ctrl-C skips the copy (the
    result is out already) and leaves no file behind."""
    if ws.pending_store is None:
        return
    sys.stdout.flush()  # the answer first, also into a pipe
    progress, update = _progress(total=None)
    try:
        with progress:
            update("features: saving to the cache", 0.0)
            ws.pending_store(ws.con)
    except (KeyboardInterrupt, RuntimeError) as exc:
        if not _is_interrupt(exc):
            raise
        err.print("segtui: skipped saving the features to the cache; the next run builds them again", markup=False)


def _check_selection(where: Optional[str], segment: Optional[str]) -> None:
    if (where is None) == (segment is None):
        raise typer.BadParameter("give exactly one of --where EXPR or --segment NAME", param_hint="--where/--segment")


def _selection(ws, where: Optional[str], segment: Optional[str]) -> tuple[str, str]:
    """(label, compiled SQL) for exactly one of --where / --segment."""
    _check_selection(where, segment)
    if segment is not None:
        compiled = ws.segment(segment)
        return compiled.name, str(compiled.sql)
    if not where.strip():
        raise typer.BadParameter("the filter is empty", param_hint="--where")
    return where, ws.compile(where)


def _percent(count: int, total: int) -> float:
    return round(100.0 * count / total, 2) if total else 0.0


@app.command()
def fields(
    source: SourceArg, mapping: MappingOpt = None, as_of: AsOfOpt = None, json_out: JsonOpt = False,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
) -> None:
    """Every feature: type, unit, description, the tables it needs, and its range in this shop."""
    from segtui.core.features import field_stats

    with _workspace(source, as_of, mapping, snapshot=snapshot, no_cache=no_cache, discount_rate=discount_rate) as ws:
        _print_fields(ws, field_stats(ws.con, ws.features), json_out)


def _print_fields(ws, stats: dict, json_out: bool) -> None:
    from segtui.core.features import FIELDS

    rows = [
        {
            "name": f.name, "type": f.type, "unit": f.unit, "description": f.description,
            "needs": list(f.needs) + list(f.needs_columns),
            "available": f.name not in ws.features.unavailable,
            "reason": ws.features.unavailable.get(f.name),
            "stats": stats.get(f.name),
        }
        for f in FIELDS
    ]
    if json_out:
        out.print_json(json.dumps({"as_of": str(ws.as_of), "fields": rows}, default=str))
        return
    from segtui.render import render_fields

    out.print(render_fields(rows, ws.as_of))


@app.command()
def segments(
    source: SourceArg, mapping: MappingOpt = None, as_of: AsOfOpt = None,
    segments_dir: SegmentsOpt = None, json_out: JsonOpt = False, snapshot: SnapshotOpt = False,
    no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
    engine: EngineOpt = "duckdb", spark_master: SparkMasterOpt = None, spark_remote: SparkRemoteOpt = None,
) -> None:
    """Every segment with its member count and share of customers, as of a date."""
    _check_engine(engine)
    if engine == "spark":
        from segtui.core import spark as engine_spark
        from segtui.core.segments import SegmentCounts

        with _on_spark(source, as_of, mapping, segments_dir, spark_master, spark_remote) as (ws, session):
            usable = ws.catalog.usable
            total, found = engine_spark.counts(session, ws.builder, [str(c.sql) for c in usable])
            counts = SegmentCounts({c.name: n for c, n in zip(usable, found)}, total)
        _print_segments(ws, counts, json_out)
        return
    with _workspace(source, as_of, mapping, segments_dir, snapshot, no_cache, discount_rate=discount_rate) as ws:
        _print_segments(ws, ws.count_all(), json_out)


def _print_segments(ws, counts, json_out: bool) -> None:
    rows = []
    for c in ws.catalog.compiled:
        seg = c.segment
        count = counts.get(c.name) if c.usable else None
        reason = c.error or c.reason or counts.errors.get(c.name)
        rows.append({
            "name": c.name, "group": seg.group, "description": seg.description, "where": seg.where,
            "count": count, "percent": _percent(count, counts.total) if count is not None else None,
            "available": c.usable and c.name not in counts.errors, "reason": reason,
            "broken": c.error is not None, "builtin": seg.builtin, "overrides_builtin": seg.overrides_builtin,
            "path": str(seg.path), "as_of": str(ws.as_of),
        })
    if json_out:
        out.print_json(json.dumps(rows, default=str))
        return
    from segtui.render import render_segments

    out.print(render_segments(rows, counts.total, ws.as_of, ws.shop.name))


@app.command()
def count(
    source: SourceArg, where: WhereOpt = None, segment: SegmentOpt = None, mapping: MappingOpt = None,
    as_of: AsOfOpt = None, segments_dir: SegmentsOpt = None, json_out: JsonOpt = False,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
    engine: EngineOpt = "duckdb", spark_master: SparkMasterOpt = None, spark_remote: SparkRemoteOpt = None,
) -> None:
    """How many customers match a filter or a segment (stdout: the integer)."""
    from segtui.core.segments import count_where

    _check_engine(engine)
    if engine == "spark":
        from segtui.core import spark as engine_spark

        _check_selection(where, segment)  # before Spark starts
        with _on_spark(source, as_of, mapping, segments_dir, spark_master, spark_remote) as (ws, session):
            label, sql = _selection(ws, where, segment)
            total, (n,) = engine_spark.counts(session, ws.builder, [sql])
        _print_count(ws, label, n, total, segment is not None, json_out)
        return
    with _workspace(source, as_of, mapping, segments_dir, snapshot, no_cache,
                    every_field=False, discount_rate=discount_rate) as ws:
        label, sql = _selection(ws, where, segment)
        if json_out:  # with the count of all customers: every customer is enumerated
            _require(ws, ws.fields_of(sql))
            n, total = count_where(ws.con, sql), ws.total()
        else:  # the members alone: often one family's table, without the universe
            progress, update = _progress()
            with progress:
                n, total = ws.members(sql, update), 0
        if n == 0 and where is not None:
            _require(ws, ws.fields_of(sql))
            for hint in ws.case_hints(ws.con, where):  # 'ios' where the data says 'iOS'
                err.print(f"segtui: {hint}", markup=False)
        _print_count(ws, label, n, total, segment is not None, json_out)


def _print_count(ws, label: str, n: int, total: int, is_segment: bool, json_out: bool) -> None:
    if json_out:
        key = "segment" if is_segment else "where"
        out.print_json(json.dumps(
            {key: label, "count": n, "total": total, "percent": _percent(n, total), "as_of": str(ws.as_of)}
        ))
    else:
        out.print(str(n))


@app.command()
def export(
    source: SourceArg,
    out_file: Annotated[str, typer.Option(
        "--out", help="Target file; the format follows the extension: .csv, .parquet, .json, .jsonl; - writes CSV to stdout.")],
    where: WhereOpt = None, segment: SegmentOpt = None,
    columns: Annotated[Optional[str], typer.Option(
        "--columns", help="Comma-separated columns (default: customer_id, the contact columns, every feature).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the target if it exists.")] = False,
    mapping: MappingOpt = None, as_of: AsOfOpt = None, segments_dir: SegmentsOpt = None,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
    engine: EngineOpt = "duckdb", spark_master: SparkMasterOpt = None, spark_remote: SparkRemoteOpt = None,
) -> None:
    """Write the members of a filter or segment to a file (temp file, then rename), or as CSV to stdout."""
    from segtui.core.export import check_target, format_options, is_stdout

    _check_engine(engine)
    target = out_file if is_stdout(out_file) else Path(out_file).expanduser()
    check_target(target, force)  # refuse before the features are built
    format_options(target)
    wanted = ([c.strip() for c in columns.split(",") if c.strip()] or None) if columns else None
    if engine == "spark":
        _export_on_spark(source, where, segment, wanted, target, force, as_of, mapping, segments_dir,
                         spark_master, spark_remote)
        return
    with _workspace(source, as_of, mapping, segments_dir, snapshot, no_cache, every_field=wanted is None, discount_rate=discount_rate) as ws:
        label, sql = _selection(ws, where, segment)
        ws.check_export_columns(wanted)  # a typo: before any build
        if wanted is not None:
            _require(ws, ws.fields_of(sql) | set(wanted))
        if is_stdout(target):
            sys.stdout.flush()
            try:
                n = ws.export(sql, target, wanted, stream=sys.stdout.buffer)
            except BrokenPipeError:  # the reader stopped early (| head): nothing more to say
                _stdout_closed()  # now, so that a fresh build is still saved to the cache on the way out
                raise typer.Exit(PIPE_CLOSED) from None
        else:
            n = ws.export(sql, target, wanted, force)
        where_to = "stdout" if is_stdout(target) else str(target)
        err.print(f"wrote {n:,} customers ({label}, as of {ws.as_of}) to {where_to}", markup=False)


def _export_on_spark(source, where, segment, wanted, target, force, as_of, mapping, segments_dir, master, remote):
    """`export --engine spark`: the members (customer_id and the feature columns asked for;
    every reference feature by default, no contact columns) computed on Spark, brought back as
    Arrow and written as a DuckDB export writes them."""
    from segtui.core import portable
    from segtui.core import spark as engine
    from segtui.core.export import export_members, is_stdout

    _check_selection(where, segment)  # before Spark starts
    with _on_spark(source, as_of, mapping, segments_dir, master, remote) as (ws, session):
        label, sql = _selection(ws, where, segment)
        fields = [c for c in (wanted or ws.builder.available_names) if c != "customer_id"]
        members = engine.run(session, portable.query(ws.builder, "spark", where=sql, fields=fields), arrow=True)
        ws.con.register("spark_members", members)
        columns = ["customer_id", *fields]
        if is_stdout(target):
            sys.stdout.flush()
            n = export_members(ws.con, "TRUE", target, columns, table="spark_members", stream=sys.stdout.buffer)
        else:
            n = export_members(ws.con, "TRUE", target, columns, force, table="spark_members")
    where_to = "stdout" if is_stdout(target) else str(target)
    err.print(f"wrote {n:,} customers ({label}, as of {ws.as_of}, on Spark) to {where_to}", markup=False)


#: The exit code when the reader of stdout went away (``| head``): 128 + SIGPIPE, as a shell
#: reports a command that a closed pipe ended.
PIPE_CLOSED = 141


def _stdout_closed() -> None:
    """Point stdout at /dev/null once its reader has gone, so that nothing else (a flush of
    what is still buffered, at the latest when Python exits) meets the broken pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


@app.command("open")
def open_(
    source: SourceArg, as_of: AsOfOpt = None, segments_dir: SegmentsOpt = None, mapping: MappingOpt = None,
    no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0, snapshot: SnapshotOpt = False,
) -> None:
    """Open the explorer on SOURCE."""
    day = _parse_date(as_of)
    _check_opens(source, day, mapping, snapshot)
    _run_explorer(source, day, mapping, segments_dir, snapshot, use_cache=not no_cache, discount_rate=discount_rate)


@app.command()
def demo(
    customers: Annotated[Optional[int], typer.Option("--customers", min=1, help="Generate a shop this large (cached) instead of the bundled sample.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for a generated demo shop.")] = 42,
    as_of: AsOfOpt = None,
) -> None:
    """Open the explorer on the bundled sample shop, or on a generated one (built once, then cached)."""
    from segtui.resources import sample_data_dir

    if customers is None:
        source = sample_data_dir()
    else:
        from segtui.core.generate import generate as run_generate
        from segtui.locations import cache_dir

        source = cache_dir() / "demo" / f"shop-{customers}-seed{seed}.duckdb"
        if not source.exists():
            source.parent.mkdir(parents=True, exist_ok=True)
            err.print(f"generating a demo shop of {customers:,} customers into {source} (once)", markup=False)
            progress, update = _progress()
            with progress:
                run_generate(source, customers=customers, seed=seed, progress=update)
    day = _parse_date(as_of)
    _check_opens(source, day, None, False)
    _run_explorer(source, day, None, None)


def _check_opens(source: Path, as_of: Optional[date], mapping: Optional[Path], snapshot: bool) -> None:
    """Fail here, in one line, before the explorer takes the screen: a source that does not
    open, a shop nothing can be answered from (the refusal `check` and `count` give), an as-of
    date outside its data (a scan of the orders and events: only when one is given; the
    default is always inside)."""
    from segtui.core.check import require_usable
    from segtui.core.source import open_source
    from segtui.core.workspace import resolve_as_of

    shop = open_source(source, mapping, snapshot=snapshot)
    try:
        require_usable(shop)
        if as_of is not None:
            resolve_as_of(shop, as_of)
    finally:
        shop.close()


@app.command()
def customer(
    source: SourceArg,
    customer_id: Annotated[str, typer.Argument(metavar="ID", help="The customer's id, as the shop writes it.")],
    mapping: MappingOpt = None, as_of: AsOfOpt = None, segments_dir: SegmentsOpt = None, json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Timeline rows to show, newest first.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Timeline rows to skip (the next page).")] = 0,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
) -> None:
    """One customer as of a date: contacts, key features beside the shop's median, the segments
    they are in (and nearly in), and their orders, events, returns and reviews, newest first."""
    with _workspace(source, as_of, mapping, segments_dir, snapshot, no_cache, discount_rate=discount_rate) as ws:
        story = ws.customer(ws.con, customer_id, offset, limit)
        if json_out:
            out.print_json(json.dumps(story.to_json(), default=str))
            return
        from segtui.render import render_customer

        out.print(render_customer(story, ws.shop.name))


FromOpt = Annotated[Optional[str], typer.Option("--from", help="The first date (YYYY-MM-DD).")]
ToOpt = Annotated[Optional[str], typer.Option("--to", help="The last date (YYYY-MM-DD; default: the last activity).")]
FromReq = Annotated[str, typer.Option("--from", help="The earlier date (YYYY-MM-DD).")]
ToReq = Annotated[str, typer.Option("--to", help="The later date (YYYY-MM-DD).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite the target if it exists.")]


def _date_progress(run):
    """Run ``run(update)`` under a progress bar on stderr that names the date being built."""
    progress, update = _progress()
    with progress:
        return run(update)


def _check_out(out_file: Optional[str], force: bool, json_out: bool):
    """The --out target of a members' list, refused before any build (the export's checks);
    --out - (CSV on stdout) leaves no room for --json on the same stdout."""
    if out_file is None:
        return None
    from segtui.core.export import check_target, format_options, is_stdout

    target = out_file if is_stdout(out_file) else Path(out_file).expanduser()
    if is_stdout(target) and json_out:
        raise typer.BadParameter("--out - writes the members to stdout; it cannot carry --json too", param_hint="--json")
    check_target(target, force)
    format_options(target)
    return target


def _write_members(write, target) -> int:
    """Write a members' list to ``target`` (``-``: stdout, a reader that stops early ends it quietly)."""
    from segtui.core.export import is_stdout

    if not is_stdout(target):
        return write(target, None)
    sys.stdout.flush()
    try:
        return write(target, sys.stdout.buffer)
    except BrokenPipeError:
        _stdout_closed()
        raise typer.Exit(PIPE_CLOSED) from None


@app.command()
def trend(
    source: SourceArg, where: WhereOpt = None, segment: SegmentOpt = None,
    start: FromOpt = None, end: ToOpt = None,
    every: Annotated[str, typer.Option("--every", help="day, week, month or quarter: the dates are the ends of these periods.")] = "month",
    mapping: MappingOpt = None, segments_dir: SegmentsOpt = None, json_out: JsonOpt = False,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
    engine: EngineOpt = "duckdb", spark_master: SparkMasterOpt = None, spark_remote: SparkRemoteOpt = None,
) -> None:
    """A segment's count at many as-of dates: by default the last 12 month ends up to the last
    activity (the last date is the last activity itself)."""
    from segtui.core import timeline

    _check_engine(engine)
    if every not in timeline.EVERY:
        raise typer.BadParameter(f"{every!r} is not one of {', '.join(timeline.EVERY)}", param_hint="--every")
    first, last = _parse_date(start, "--from"), _parse_date(end, "--to")
    if engine == "spark":
        _check_selection(where, segment)  # before Spark starts
        with _on_spark(source, None, mapping, segments_dir, spark_master, spark_remote) as (ws, session):
            label, sql = _selection(ws, where, segment)
            dates, note = timeline.trend_dates(ws.data_range, first, last, every)
            if note:
                err.print(f"segtui: {note}", markup=False)
            points = [_spark_point(ws, session, sql, day) for day in dates]
    else:
        with _workspace(source, None, mapping, segments_dir, snapshot, no_cache,
                        every_field=False, discount_rate=discount_rate) as ws:
            label, sql = _selection(ws, where, segment)
            dates, note = timeline.trend_dates(ws.data_range, first, last, every)
            if note:
                err.print(f"segtui: {note}", markup=False)
            points = _date_progress(lambda update: timeline.trend(ws, sql, dates, update))
    if json_out:
        out.print_json(json.dumps([p.to_json() for p in points]))
        return
    from segtui.render import render_trend

    out.print(render_trend(points, label, ws.shop.name, every))


@app.command()
def transitions(
    source: SourceArg,
    group: Annotated[str, typer.Option("--group", help="A segment group whose segments exclude each other, e.g. RFM.")],
    start: FromReq, end: ToReq,
    first_match: Annotated[bool, typer.Option(
        "--first-match", help="When the group's segments overlap, count each customer in the first that holds them.")] = False,
    mapping: MappingOpt = None, segments_dir: SegmentsOpt = None, json_out: JsonOpt = False,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
) -> None:
    """Where a group's customers went between two dates: customers per (segment then, segment
    now), with "none" and "not yet a customer"."""
    from segtui.core import timeline

    first, last = _parse_date(start, "--from"), _parse_date(end, "--to")
    with _workspace(source, None, mapping, segments_dir, snapshot, no_cache,
                    every_field=False, discount_rate=discount_rate) as ws:
        timeline.check_pair(ws.data_range, first, last)
        timeline.group_segments(ws, group)  # an unknown group: before any build
        result = _date_progress(lambda update: timeline.transitions(ws, group, first, last, first_match, update))
        if json_out:
            out.print_json(json.dumps(result.to_json()))
            return
        from segtui.render import render_transitions

        out.print(render_transitions(result))


@app.command()
def diff(
    source: SourceArg, start: FromReq, end: ToReq, where: WhereOpt = None, segment: SegmentOpt = None,
    out_file: Annotated[Optional[str], typer.Option(
        "--out", help="Write the members with a change column (entered, left, stayed): .csv, .parquet, .json, .jsonl; - for CSV on stdout.")] = None,
    force: ForceOpt = False, mapping: MappingOpt = None, segments_dir: SegmentsOpt = None, json_out: JsonOpt = False,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
) -> None:
    """Who entered, left and stayed in a segment or filter between two dates."""
    from segtui.core import timeline

    first, last = _parse_date(start, "--from"), _parse_date(end, "--to")
    target = _check_out(out_file, force, json_out)
    with _workspace(source, None, mapping, segments_dir, snapshot, no_cache,
                    every_field=False, discount_rate=discount_rate) as ws:
        label, sql = _selection(ws, where, segment)
        timeline.check_pair(ws.data_range, first, last)
        result = _date_progress(lambda update: timeline.diff(ws, sql, first, last, update, keep=target is not None))
        try:
            if target is not None:
                n = _write_members(lambda path, stream: timeline.write_changes(ws, last, path, force, stream), target)
                err.print(f"wrote {n:,} customers ({label}: entered, left or stayed from {first} to {last}) to "
                          f"{'stdout' if str(target) == '-' else target}", markup=False)
        finally:
            timeline.drop_snapshots(ws)
        key = "segment" if segment is not None else "where"
        if json_out:
            out.print_json(json.dumps({key: label, **result.to_json()}))
        elif target is not None and str(target) == "-":
            err.print(f"{label}: {result.entered:,} entered, {result.left:,} left, {result.stayed:,} stayed", markup=False)
        else:
            from segtui.render import render_diff

            out.print(render_diff(label, result))


@app.command()
def overlap(
    source: SourceArg,
    segment: Annotated[list[str], typer.Option("--segment", help="A segment; give two or more.")],
    as_of: AsOfOpt = None, mapping: MappingOpt = None, segments_dir: SegmentsOpt = None, json_out: JsonOpt = False,
    snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
) -> None:
    """How segments overlap: every region of the Venn diagram for two or three, and each pair's
    customers in both and Jaccard index."""
    from segtui.core.compare import overlap as overlap_of

    if len(segment) < 2:
        raise typer.BadParameter("give two or more --segment", param_hint="--segment")
    with _workspace(source, as_of, mapping, segments_dir, snapshot, no_cache,
                    every_field=False, discount_rate=discount_rate) as ws:
        chosen = [ws.segment(name) for name in segment]
        names = [c.name for c in chosen]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise typer.BadParameter(f"segment '{twice}' is given twice", param_hint="--segment")
        _require(ws, set().union(*(ws.fields_of(str(c.sql)) for c in chosen)))
        result = overlap_of(ws.con, ws.as_of, [(c.name, str(c.sql)) for c in chosen])
        if json_out:
            out.print_json(json.dumps(result.to_json()))
            return
        from segtui.render import render_overlap

        out.print(render_overlap(result))


@app.command()
def nearmiss(
    source: SourceArg, segment: SegmentOpt = None, where: WhereOpt = None,
    condition: Annotated[Optional[int], typer.Option(
        "--condition", min=1, help="With --out: only the near misses of condition N (as numbered in the output).")] = None,
    out_file: Annotated[Optional[str], typer.Option(
        "--out", help="Write the near misses with the condition each missed: .csv, .parquet, .json, .jsonl; - for CSV on stdout.")] = None,
    force: ForceOpt = False, as_of: AsOfOpt = None, mapping: MappingOpt = None, segments_dir: SegmentsOpt = None,
    json_out: JsonOpt = False, snapshot: SnapshotOpt = False, no_cache: NoCacheOpt = False, discount_rate: DiscountOpt = 0.0,
) -> None:
    """Who almost qualifies: per condition of the filter, the customers who meet every other
    condition but not this one (false or unknown)."""
    from segtui.core import compare

    if condition is not None and out_file is None:
        raise typer.BadParameter("--condition chooses what --out writes; give --out too", param_hint="--condition")
    target = _check_out(out_file, force, json_out)
    with _workspace(source, as_of, mapping, segments_dir, snapshot, no_cache,
                    every_field=False, discount_rate=discount_rate) as ws:
        label, sql = _selection(ws, where, segment)
        text = ws.segment(segment).segment.where if segment is not None else where
        _require(ws, ws.fields_of(sql))
        misses = compare.near_misses(ws.con, text, sql)
        if condition is not None and condition > len(misses):
            raise typer.BadParameter(f"the filter has {len(misses)} conditions; choose 1 to {len(misses)}",
                                     param_hint="--condition")
        if target is not None:
            compare.keep_near_misses(ws.con, misses, None if condition is None else condition - 1)
            n = _write_members(lambda path, stream: compare.write_near_misses(ws, path, force, stream), target)
            which = f"condition {condition}" if condition is not None else "any condition"
            err.print(f"wrote {n:,} near misses of {label} ({which}, as of {ws.as_of}) to "
                      f"{'stdout' if str(target) == '-' else target}", markup=False)
            if str(target) == "-":
                return
        if json_out:
            key = "segment" if segment is not None else "where"
            out.print_json(json.dumps({key: label, "as_of": str(ws.as_of),
                                       "conditions": [{"condition": m.condition, "count": m.count} for m in misses]}))
            return
        from segtui.render import render_near_misses

        out.print(render_near_misses(label, misses, ws.as_of))


UNITS = ("week", "day")


@app.command()
def predict(
    source: SourceArg,
    calibration_end: Annotated[Optional[str], typer.Option(
        "--calibration-end", help="Fit to the orders up to this date (YYYY-MM-DD; default: the last activity).")] = None,
    holdout_end: Annotated[Optional[str], typer.Option(
        "--holdout-end", help="Compare the predictions with the purchases after the calibration end up to this date.")] = None,
    unit: Annotated[str, typer.Option("--unit", help="The time unit of the fit: week or day.")] = "week",
    mapping: MappingOpt = None, json_out: JsonOpt = False, snapshot: SnapshotOpt = False,
) -> None:
    """Fit the BG/NBD purchase model and the Gamma-Gamma spend model to the buyers up to a
    date; with --holdout-end, show how well they predict the purchases after it."""
    from segtui.core.check import require_usable
    from segtui.core.source import open_source
    from segtui.core.workspace import data_range, resolve_as_of

    if unit not in UNITS:
        raise typer.BadParameter(f"{unit!r} is not a unit; use week or day", param_hint="--unit")
    calibration_day = _parse_date(calibration_end, "--calibration-end")
    holdout_day = _parse_date(holdout_end, "--holdout-end")
    shop = open_source(source, mapping, snapshot=snapshot)
    try:
        require_usable(shop)
        span = data_range(shop)
        calibration_day = resolve_as_of(shop, calibration_day, span)
        if holdout_day is not None:
            if holdout_day <= calibration_day:
                raise SegtuiError(f"the holdout end {holdout_day} must be after the calibration end {calibration_day}"
                                  + ("" if calibration_end else " (the last activity; give --calibration-end)"))
            problem = span.refuse(holdout_day)
            if problem is not None:
                raise SegtuiError(problem.replace("as-of", "holdout end", 1))
        from segtui.core.predict import predict as run_predict

        progress, update = _progress(total=None)
        with progress:
            update("predict: fitting", 0.0)
            prediction = run_predict(shop.con, calibration_day, holdout_day, unit)
        if json_out:
            out.print_json(json.dumps(prediction.to_json()))
            return
        from segtui.render import render_prediction

        out.print(render_prediction(prediction, shop.name))
    finally:
        shop.close()


@app.command("sql")
def sql_(
    source: SourceArg,
    where: WhereOpt = None, segment: SegmentOpt = None,
    features: Annotated[Optional[str], typer.Option(
        "--features", help="The feature columns instead of members: comma-separated fields, or alone (or 'all') "
                           "for every field.")] = None,
    dialect: Annotated[str, typer.Option(
        "--dialect", help="duckdb, spark, trino, bigquery, snowflake or postgres.")] = "duckdb",
    as_of: AsOfOpt = None, mapping: MappingOpt = None, segments_dir: SegmentsOpt = None, snapshot: SnapshotOpt = False,
) -> None:
    """Print one self-contained query for a warehouse or Spark: the customer_id of a segment's
    (or filter's) members, or feature columns, as of a date, over the contract's table names."""
    from segtui.core.portable import DIALECTS, query
    from segtui.core.workspace import open_workspace

    if dialect not in DIALECTS:
        raise typer.BadParameter(f"{dialect!r} is not a dialect; use one of {', '.join(DIALECTS)}", param_hint="--dialect")
    if features is not None and (where is not None or segment is not None):
        raise typer.BadParameter("give --features or one of --where / --segment, not both", param_hint="--features")
    ws = open_workspace(source, _parse_date(as_of), mapping, segments_dir, snapshot=snapshot, use_cache=False,
                        fields=None, engine="reference")
    try:
        if features is not None:
            names = [f.strip() for f in features.split(",") if f.strip()]
            names = list(ws.builder.available_names) if names in ([], ["all"]) else names
            text = query(ws.builder, dialect, fields=names)
        else:
            _, compiled = _selection(ws, where, segment)
            text = query(ws.builder, dialect, where=compiled)
        out.print(f"-- segtui sql: {ws.shop.name} as of {ws.as_of}, {dialect}", markup=False, highlight=False)
        out.print(text + ";", markup=False, highlight=False, soft_wrap=True)
    finally:
        ws.close()


cache_app = typer.Typer(help="The feature cache: built feature tables kept in the user cache folder.",
                        no_args_is_help=True, rich_markup_mode=None)
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info(json_out: JsonOpt = False) -> None:
    """Where the feature cache is, its entries and their size."""
    from segtui.core import cache

    found = cache.entries()
    rows = [{"key": e.key, "bytes": e.size, "source": e.meta.get("source"), "as_of": e.meta.get("as_of"),
             "holds": _entry_holds(e.meta), "rows": e.meta.get("rows"), "complete": e.complete} for e in found]
    summary = {"folder": str(cache.features_cache_dir()), "entries": len(rows), "bytes": sum(r["bytes"] for r in rows),
               "max_bytes": cache.max_bytes(), "items": rows}
    if json_out:
        out.print_json(json.dumps(summary))
        return
    out.print(f"{summary['folder']}: {len(rows)} entries, {summary['bytes'] / 1e6:,.1f} MB "
              f"(bound {summary['max_bytes'] / 1e6:,.0f} MB)", markup=False)
    for r in rows:
        size = " " * 15 if r["rows"] is None else f"{r['rows']:>10,} rows"  # counts hold no rows
        out.print(f"  {r['key'][:12]}  {r['bytes'] / 1e6:8.1f} MB  as of {r['as_of']}  {r['holds']:<24} "
                  f"{size}  {r['source']}", markup=False)


def _entry_holds(meta: dict) -> str:
    """What a cache entry holds, as `cache info` says it: a family's name, or the joined table."""
    if meta.get("kind") == "family":
        return f"family {meta.get('family')}"
    if meta.get("kind") == "answers":
        return f"{len(meta.get('counts') or {})} counts"
    return "all features joined" if meta.get("kind") == "features" else "unknown (older segtui)"


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached feature table (and the compiled filters kept beside them)."""
    from segtui.core import cache
    from segtui.core.filter_memo import memo_path

    n, size = cache.clear()
    with suppress(OSError):
        memo_path().unlink(missing_ok=True)
    err.print(f"removed {n} cache entries ({size / 1e6:,.1f} MB) from {cache.features_cache_dir()}", markup=False)


def _run_explorer(
    source: Path, as_of: Optional[date], mapping: Optional[Path], segments_dir: Optional[Path], snapshot: bool = False,
    use_cache: bool = True, discount_rate: float = 0.0,
) -> None:
    from segtui.tui.app import run_app

    run_app(source, as_of=as_of, mapping=mapping, segments_dir=segments_dir, snapshot=snapshot, use_cache=use_cache,
            discount_rate=discount_rate)


def _describe_generated(result) -> str:
    counts = getattr(result, "row_counts", None) or getattr(result, "rows", None)
    if isinstance(counts, dict):
        return ", ".join(f"{n:,} {t}" for t, n in counts.items())
    return "done"


def _log_exception() -> Path | None:
    """Write the current traceback to the log file; never let logging itself fail the exit."""
    try:
        from segtui.locations import log_file

        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc() + "\n")
        return path
    except Exception:
        return None


def _is_interrupt(exc: BaseException) -> bool:
    """Ctrl+C: a KeyboardInterrupt, or as DuckDB reports it during a query, InterruptException or
    RuntimeError('Query interrupted')."""
    return isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "InterruptException" or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower()
    )


def _bare_features(args: list[str]) -> list[str]:
    """`segtui sql ... --features` alone means every field (`--features all`): typer's options
    take a value or none, never an optional one."""
    if args[:1] != ["sql"]:
        return args
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--features" and (i + 1 == len(out) or out[i + 1].startswith("--")):
            out.insert(i + 1, "all")
            break
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning every failure into one line on stderr and an exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=_bare_features(sys.argv[1:] if argv is None else argv), prog_name="segtui",
                            standalone_mode=False)
        if code == 130:  # typer turns Ctrl+C into a silent exit code
            err.print("segtui: interrupted", markup=False)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's own flush at exit
    except BrokenPipeError:  # the reader of stdout stopped early (| head): nothing more to say
        _stdout_closed()
        code = PIPE_CLOSED
    except SegtuiError as exc:
        err.print(f"segtui: error: {exc}", markup=False)
        code = exc.exit_code
    except typer.TyperException as exc:  # usage errors (typer's own click) say what was wrong
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            err.print(ctx.get_help(), markup=False)
        else:
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            err.print(f"segtui: usage error: {exc.format_message()}{hint}", markup=False)
        code = 2
    except (KeyboardInterrupt, typer.Abort):
        err.print("segtui: interrupted", markup=False)
        code = 130
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:  # a bug: one line for the user, the traceback in the log
        if _is_interrupt(exc):
            err.print("segtui: interrupted", markup=False)
            sys.exit(130)
        where = _log_exception()
        detail = f"; details in {where}" if where else ""
        err.print(f"segtui: internal error: {type(exc).__name__}: {exc}{detail}", markup=False)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
