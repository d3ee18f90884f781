"""The deterministic demo shop: ``segtui generate`` and the committed ``sample_data/``.

The generation is DuckDB SQL in ``queries/generate/``: ``0N_*.sql`` run once (macros, weighted
choices, products, the empty shop tables), then ``1N_*.sql`` run once per block of customers
(plan, orders, items, events, ...), all on one connection. This module only sets the
parameters, runs the steps, reports progress and makes the write atomic. Decisions:

- Determinism: every random value is ``hash(seed, id, k)`` mapped to [0, 1) (macros in
  ``01_macros.sql``), never ``random()``, and money is summed in whole cents, so the same seed
  gives the same rows on any thread count and any block size. Every insert has an ORDER BY
  over a key that is unique or covers the whole row, so the row order is the same too.
- Set-based: rows come from ``range()``/``unnest(range(n))``; weighted choices are equi-joins
  on 1000 buckets (``picks``); no Python loop per row.
- Blocks of :data:`BLOCK_CUSTOMERS` consecutive customer ids: each block's rows are sorted and
  appended, so every table comes out sorted (by customer, then time) while no sort needs more
  than one block in memory. ``preserve_insertion_order`` is off: only the ORDER BYs matter,
  and the intermediate tables build much faster without it.
- Intermediate tables are TEMP, so the output file holds only the seven shop tables.
- Atomic: the shop is written to a hidden temp file beside the target and renamed over it with
  ``os.replace``; on any failure, Ctrl-C included, the temp file (and its .wal and spill
  folder) is removed and the target is untouched.
- The planted archetypes and their shares live in ``02_choices.sql`` (one source of truth);
  :func:`archetype_shares` reads them from there. ``customers`` keeps three extra columns
  (archetype, time_pref, device_pref) so tests and demos can check the segments.
- History is the 730 days ending on :data:`GENERATED_END_DATE`, a fixed date, so a demo shop
  looks the same whenever it is built.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from segtui.errors import GenerateError
from segtui.resources import queries_dir

GENERATED_END_DATE = date(2026, 6, 30)
"""The last day of generated history (every timestamp is on or before it)."""

TABLES = ("customers", "products", "orders", "order_items", "events", "returns", "reviews")
"""The shop tables a generated file contains, in the order of the data contract."""

BLOCK_CUSTOMERS = 200_000
"""Customers per block (see the module docstring); it changes memory use, never the data."""

# Bounds DuckDB's buffer manager (a block needs far less); keeps a run well under 4 GB resident.
MEMORY_LIMIT = "2GB"

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GenerateResult:
    """What :func:`generate` wrote."""

    path: Path
    customers: int
    seed: int
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _steps() -> tuple[list[Path], list[Path]]:
    """(setup steps, block steps): ``0N_*.sql`` run once, ``1N_*.sql`` once per block."""
    files = sorted((queries_dir() / "generate").glob("*.sql"))
    return [f for f in files if f.name < "10"], [f for f in files if f.name >= "10"]


def _step_name(step: Path) -> str:
    """``11_order_draft.sql`` -> ``order draft``."""
    return step.stem.split("_", 1)[-1].replace("_", " ")


def _set_parameters(con: duckdb.DuckDBPyConnection, customers: int, seed: int) -> None:
    con.execute("SET VARIABLE seed = ?", [seed])
    con.execute("SET VARIABLE customers = ?", [customers])
    con.execute("SET VARIABLE end_date = ?", [GENERATED_END_DATE])


def _blocks(customers: int) -> list[tuple[int, int]]:
    """Customer ids 1..customers as [first, last) blocks of at most BLOCK_CUSTOMERS."""
    return [(lo, min(lo + BLOCK_CUSTOMERS, customers + 1)) for lo in range(1, customers + 1, BLOCK_CUSTOMERS)]


def _check_arguments(customers: object, seed: object) -> None:
    if isinstance(customers, bool) or not isinstance(customers, int) or customers < 1:
        raise GenerateError(f"--customers must be a whole number of at least 1, not {customers!r}")
    if customers > 100_000_000:
        raise GenerateError(f"--customers {customers} is too many; at most 100000000")
    if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**63:
        raise GenerateError(f"--seed must be a whole number (64-bit), not {seed!r}")


def _remove(path: Path) -> None:
    """Remove a file or folder if it exists; never raises (used while cleaning up)."""
    try:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def generate(
    out_path: Path,
    customers: int = 5000,
    seed: int = 42,
    force: bool = False,
    progress: Progress | None = None,
    *,
    threads: int | None = None,
) -> GenerateResult:
    """Write a demo shop of ``customers`` customers to the DuckDB file ``out_path``.

    Raises :class:`GenerateError` (one line) when ``out_path`` exists and ``force`` is False,
    when ``customers`` < 1, or when DuckDB fails. ``progress(step, fraction)`` is called before
    the first step (fraction 0) and after each step; ``threads`` (default: DuckDB's) only
    changes the speed, never the data.
    """
    _check_arguments(customers, seed)
    out_path = Path(out_path)
    if out_path.is_dir():
        raise GenerateError(f"{out_path} is a folder; give a file name such as shop.duckdb")
    if out_path.exists() and not force:
        raise GenerateError(f"{out_path} already exists; use --force to overwrite it")
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerateError(f"cannot create the folder {out_path.parent}: {exc.strerror or exc}") from None

    started = time.perf_counter()
    tmp = out_path.parent / f".{out_path.name}.{os.getpid()}.tmp"
    leftovers = [tmp, Path(f"{tmp}.wal"), Path(f"{tmp}.tmp"), Path(f"{tmp}.spill")]
    for path in leftovers:  # from an earlier crash of this same pid
        _remove(path)
    setup, per_block = _steps()
    blocks = _blocks(customers)
    total_steps = len(setup) + len(blocks) * len(per_block)
    report = progress or (lambda _step, _fraction: None)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            con.execute("SET temp_directory = ?", [str(leftovers[3])])
            # Row order comes from explicit ORDER BYs; elsewhere DuckDB may run in any order,
            # which is much faster for the intermediate tables.
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET enable_progress_bar = false")
            if threads is not None:
                con.execute(f"SET threads = {int(threads)}")
            _set_parameters(con, customers, seed)
            report("start", 0.0)
            done = 0
            for step in setup:
                con.execute(step.read_text(encoding="utf-8"))
                done += 1
                report(_step_name(step), done / total_steps)
            for first, last in blocks:
                con.execute("SET VARIABLE block_first = ?", [first])
                con.execute("SET VARIABLE block_last = ?", [last])
                for step in per_block:
                    con.execute(step.read_text(encoding="utf-8"))
                    done += 1
                    report(_step_name(step), done / total_steps)
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, out_path)
    except duckdb.Error as exc:
        raise GenerateError(f"could not generate the demo shop: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise GenerateError(f"could not write {out_path}: {exc.strerror or exc}") from None
    finally:
        for path in leftovers:
            _remove(path)
    return GenerateResult(out_path, customers, seed, counts, time.perf_counter() - started)


def _parquet_targets(folder: Path, force: bool) -> dict[str, Path]:
    targets = {t: folder / f"{t}.parquet" for t in TABLES}
    existing = [p.name for p in targets.values() if p.exists()]
    if existing and not force:
        raise GenerateError(f"{folder} already has {', '.join(existing)}; use --force to overwrite")
    return targets


def export_parquet_folder(db_path: Path, folder: Path, force: bool = False) -> dict[str, Path]:
    """Write each shop table of ``db_path`` to ``folder/<table>.parquet`` (zstd), rows in order.

    Each file is written to a temp name and renamed; an existing file is replaced only with
    ``force``. Returns the written paths by table.
    """
    folder = Path(folder)
    targets = _parquet_targets(folder, force)
    folder.mkdir(parents=True, exist_ok=True)
    con = None
    try:
        con = duckdb.connect(str(db_path), read_only=True)
        con.execute("SET preserve_insertion_order = true")  # keep the tables' sorted order
        for table, target in targets.items():
            tmp = folder / f".{target.name}.{os.getpid()}.tmp"
            quoted = str(tmp).replace("'", "''")
            try:
                con.execute(
                    f"COPY (SELECT * FROM {table}) TO '{quoted}' "
                    "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
                )
                os.replace(tmp, target)
            finally:
                _remove(tmp)
    except duckdb.Error as exc:
        raise GenerateError(f"could not export {db_path}: {str(exc).splitlines()[0]}") from None
    finally:
        if con is not None:
            con.close()
    return targets


def generate_parquet_folder(
    folder: Path,
    customers: int = 5000,
    seed: int = 42,
    force: bool = False,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Generate a shop and write it as one Parquet file per table (how sample_data/ is made)."""
    folder = Path(folder)
    _parquet_targets(folder, force)  # refuse before the work, not after
    with tempfile.TemporaryDirectory(prefix="segtui-generate-") as work:
        db = Path(work) / "shop.duckdb"
        generate(db, customers=customers, seed=seed, progress=progress)
        return export_parquet_folder(db, folder, force=force)


def archetype_shares() -> dict[str, float]:
    """The planted archetypes and their share of customers, read from ``02_choices.sql``."""
    con = duckdb.connect()
    try:
        _set_parameters(con, 1, 0)
        for step in _steps()[0][:2]:  # macros, choices
            con.execute(step.read_text(encoding="utf-8"))
        rows = con.execute(
            "SELECT value, weight / sum(weight) OVER () FROM choices WHERE kind = 'archetype'"
        ).fetchall()
    finally:
        con.close()
    return {name: round(share, 6) for name, share in rows}


def table_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per shop table: (row count, a checksum over every value and the row order).

    The checksum sums hash(row) * row position, so equal checksums mean equal rows in equal order.
    """
    result = {}
    for t in TABLES:
        count, checksum = con.execute(
            f"SELECT count(*), coalesce(sum(CAST(hash(r) AS HUGEINT) * (rowid + 1)), 0) FROM {t} AS r"
        ).fetchone()
        result[t] = (count, int(checksum))
    return result


def _print_progress(step: str, fraction: float) -> None:
    print(f"{fraction:4.0%}  {step}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """``python -m segtui.core.generate (OUT.duckdb | --parquet DIR) [--customers N] [--seed S]``."""
    parser = argparse.ArgumentParser(prog="python -m segtui.core.generate", description=main.__doc__)
    parser.add_argument("out", nargs="?", type=Path, help="DuckDB file to write")
    parser.add_argument("--parquet", type=Path, help="write one Parquet file per table into this folder")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    if (args.out is None) == (args.parquet is None):
        parser.error("give either OUT.duckdb or --parquet DIR")
    try:
        if args.parquet is not None:
            generate_parquet_folder(args.parquet, args.customers, args.seed, args.force, _print_progress)
        else:
            generate(args.out, args.customers, args.seed, args.force, _print_progress)
    except GenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
