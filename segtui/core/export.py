"""Write a segment's members to CSV, Parquet or JSON.

DuckDB's COPY does the serialising; this module picks the format from the file extension,
guards the target and makes the write atomic: COPY goes to a temporary file in the target's
own folder, which is renamed over the target only when complete, so a failure or Ctrl+C
leaves nothing half-written and an existing file untouched.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import duckdb

from segtui.errors import ExportError

FORMATS = {
    ".csv": "FORMAT csv, HEADER true",
    ".parquet": "FORMAT parquet, COMPRESSION zstd",
    ".json": "FORMAT json, ARRAY true",
    ".jsonl": "FORMAT json",
    ".ndjson": "FORMAT json",
}


def format_options(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ExportError(
            f"cannot tell the format of {path.name}: use a .csv, .parquet, .json or .jsonl file name"
        ) from None


def check_target(path: Path, force: bool) -> None:
    """Refuse before any work is done: an existing file without force, a missing or read-only folder."""
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name such as {path / 'members.csv'}")
    if path.exists() and not force:
        raise ExportError(f"{path} already exists; pass --force to overwrite it")
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to folder {folder}: permission denied")


def pick_columns(available: list[str], wanted: list[str] | None) -> list[str]:
    """customer_id and every feature by default; otherwise the named ones, customer_id first."""
    if not wanted:
        return available
    unknown = [c for c in wanted if c not in available]
    if unknown:
        close = difflib.get_close_matches(unknown[0], available, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; see 'segtui fields'"
        raise ExportError(f"unknown column '{unknown[0]}' in --columns{hint}")
    ordered = list(dict.fromkeys(wanted))
    return ordered if "customer_id" in ordered else ["customer_id", *ordered]


def export_members(
    con: duckdb.DuckDBPyConnection,
    where_sql: str,
    path: str | Path,
    columns: list[str] | None = None,
    force: bool = False,
    table: str = "customer_features",
    rows_sorted: bool = False,
) -> int:
    """Write the rows of ``table`` matching ``where_sql`` to ``path``, in ``customer_id`` order;
    return how many.

    ``rows_sorted``: the table's rows are already in that order (a cache entry,
    ``FeatureSet.rows_sorted``), so the query skips its ``ORDER BY``: DuckDB keeps the insertion
    order of a scan, filter and projection in COPY (``preserve_insertion_order``, on by
    default), and the sort was a fifth of a 1M-row Parquet export. A filter is one row's
    expression (no subqueries, see filters.py), so the plan stays a plain scan.

    Zero rows is not an error: an empty file with a header (CSV) or a schema (Parquet) is how
    "the segment is empty" is told apart from "the export failed".
    """
    path = Path(path).expanduser()
    check_target(path, force)
    options = format_options(path)
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    chosen = pick_columns(list(types), columns)
    as_json = "FORMAT json" in options
    select = ", ".join(_column(c, types[c], as_json) for c in chosen)
    query = f"SELECT {select} FROM {table} WHERE {where_sql}" + ("" if rows_sorted else " ORDER BY customer_id")
    tmp = path.with_name(f".{path.name}.segtui-{os.getpid()}.tmp")
    try:
        rows = con.execute(f"COPY ({query}) TO '{_sql_path(tmp)}' ({options})").fetchone()[0]
        os.replace(tmp, path)
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        raise ExportError(f"could not write {path}: {_first_line(exc)}") from None
    except OSError as exc:
        raise ExportError(f"could not write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp.is_file():
            tmp.unlink()
    return rows


def _column(name: str, sql_type: str, as_json: bool) -> str:
    """The column as exported. JSON has no Infinity or NaN (DuckDB writes them, and jq and
    strict parsers then reject the whole file): in JSON a non-finite number is null."""
    quoted = '"' + name.replace('"', '""') + '"'
    if as_json and sql_type in ("DOUBLE", "FLOAT"):
        return f"CASE WHEN isfinite({quoted}) THEN {quoted} END AS {quoted}"
    return quoted


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__
