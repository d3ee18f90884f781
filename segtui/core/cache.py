"""The feature cache: each feature family built once per shop, as-of date and definition, and
the assembled ``customer_features`` table once per set of families.

DuckDB writes and reads the files (a small DuckDB database per entry, with a JSON sidecar); this
module decides the keys, where entries live, when one is stale and how large the folder may grow.

Decisions:

- Entries live in the user cache folder (``segtui.locations.cache_dir()/features``), never
  beside the shop: segtui never writes to the user's data.
- One entry per **family** (``feature_core``, ``feature_events``...: the table its SQL file
  makes) and one per **assembled feature table** (the join of the families that the explorer,
  ``segments`` and a full export read; re-joining a million rows costs ~2 s, reading an entry
  milliseconds). A question that needs a few families reads just theirs. And **answers**: a
  JSON sidecar alone holding counts at one date (compiled filter SQL -> members), keyed by the
  keys of the families they were counted over; the explorer's background history of every
  segment at 12 dates keeps these, a few KB, instead of every family at every date.
- A family's key is a sha256 over the source's fingerprint (size and mtime of the file, its
  DuckDB WAL, or each table file of a folder, plus the path; the mapping file's content; the
  schema of the contract views), the as-of date and the family's *definition*: the text of
  every file that may compute it, of the as-of base files it reads, its fields in the
  catalogue, and the definitions of the families it reads, transitively (plus
  :data:`CACHE_VERSION` and the DuckDB version). Editing one family's SQL gives it and the
  families that read it new keys and leaves every other entry valid. An assembled table's
  key covers the keys of its families and its columns. Content is not hashed (reading 1 GB to
  check a cache would defeat it), so a file rewritten with the same size within the same mtime
  tick is not noticed; ``--no-cache`` is the way out.
- An entry is written to temporary files in the cache folder and renamed into place (the
  database before its sidecar; an entry counts only when both exist), so a crash or a
  second segtui writing the same entry never leaves a half-written file under a valid name.
  Failing to write the cache is never an error: the features were built, the command goes on.
- Assembled tables hold their rows in ``customer_id`` order (sorting on the way in costs ~0.2 s
  at 1M customers, once), and the sidecar says so (``"order"``): an export from such an entry
  is a plain scan in that order, no ``ORDER BY`` (:func:`segtui.core.export.export_members`).
- Reading: the entry is ATTACHed READ_ONLY and a view of the expected name reads its table.
  Measured at 1M customers (benchmarks/README.md): attaching takes milliseconds and counts
  over DuckDB's own storage are as fast as over an in-memory table. A damaged or mismatching
  entry is deleted and rebuilt.
- The folder is bounded (:data:`DEFAULT_MAX_BYTES`, or ``SEGTUI_CACHE_MAX_BYTES``): after each
  write the least recently used entries beyond the bound are deleted. Reading an entry touches
  it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from segtui.core.features import FEATURE_TABLE, FIELDS, FeatureSet
from segtui.core.features.build import FeatureBuilder, _drop_feature_table
from segtui.core.features.catalog import load_query
from segtui.core.source import Shop, quote_str
from segtui.locations import cache_dir

#: Bump when the meaning of a cached table changes without any feature SQL changing.
CACHE_VERSION = 3  # 3: one entry per family, plus assembled tables

#: A temp file this old belongs to no write in progress (one takes seconds even at 10M
#: customers): its writer was killed, and the next write removes it.
STALE_TEMP_SECONDS = 3600

#: The default bound on the cache folder; SEGTUI_CACHE_MAX_BYTES overrides it.
DEFAULT_MAX_BYTES = 2 * 1024**3

SUFFIX = ".duckdb"
ATTACHED = "segtui_feature_cache"  # an assembled entry's name inside the workspace connection
SIDECAR = ".json"


def features_cache_dir() -> Path:
    return cache_dir() / "features"


def max_bytes() -> int:
    value = os.environ.get("SEGTUI_CACHE_MAX_BYTES")
    try:
        return int(value) if value else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


# ---------------------------------------------------------------------------------------------
# The keys


def _stat(path: Path) -> list:
    st = path.stat()
    return [str(path), st.st_size, st.st_mtime_ns]


def source_fingerprint(shop: Shop) -> dict:
    """What identifies the shop's data without reading it: file sizes and mtimes, the mapping
    file's content and the schema of every contract view."""
    path = shop.path.expanduser().resolve()
    files: list[list] = []
    if path.is_dir():
        from segtui.core.source import FILE_SUFFIXES

        files = [_stat(p) for p in sorted(path.iterdir()) if p.is_file() and p.suffix.lower() in FILE_SUFFIXES]
    else:
        files = [_stat(path)]
        wal = path.with_name(path.name + ".wal")
        if wal.is_file():
            files.append(_stat(wal))
    # Mapped tables may come from files beside the shop ("from = 'extra.csv'").
    base = path if path.is_dir() else path.parent
    for table in shop.tables.values():
        candidate = base / table.origin
        if candidate.is_file() and candidate != path and [str(candidate)] not in [f[:1] for f in files]:
            files.append(_stat(candidate))
    mapping = None
    if shop.mapping_file is not None:
        mapping = hashlib.sha256(Path(shop.mapping_file).read_bytes()).hexdigest()
    schema = {}
    for name in sorted(shop.tables):
        rows = shop.con.execute(f"DESCRIBE {name}").fetchall()
        schema[name] = {
            "columns": [[r[0], str(r[1])] for r in rows],
            "present": sorted(shop.tables[name].present),
            "exprs": dict(sorted(shop.tables[name].exprs.items())),
        }
        read = {c: r.mark for c, r in sorted(shop.tables[name].money.items()) if r.read}
        if read:  # '€37,32' read as money changes the view; absent otherwise, so older keys still hold
            schema[name]["money"] = read
    fingerprint = {"files": files, "mapping": mapping, "schema": schema, "id_types": dict(sorted(shop.id_types.items()))}
    if shop.known_export is not None:  # the SQL that turns a known export into the contract tables
        fingerprint["reader"] = shop.known_export.fingerprint()
    return fingerprint


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def family_definition(builder: FeatureBuilder, family: str, _memo: dict | None = None) -> str:
    """sha256 of what defines a family here: the text of every candidate file, of the base
    files they read (transitively), the family's fields, and the definitions of the families
    they read."""
    memo = {} if _memo is None else _memo
    if family in memo:
        return memo[family]
    files = builder.base_files_read(builder.candidates[family])
    memo[family] = _digest(
        CACHE_VERSION, duckdb.__version__, builder.engine, family,
        [[query.file, query.sql, _computing_source(query)] for query in builder.candidates[family]],
        [[file, load_query(file).sql] for file in sorted(files)],
        [repr(f) for f in FIELDS if f.family == family],
        {read: family_definition(builder, read, memo) for read in sorted(builder.reads(family))},
        *([sorted(builder.settings.items())] if builder.settings and _computed(builder, family) else []),
    )
    return memo[family]


def _computed(builder: FeatureBuilder, family: str) -> bool:
    """Whether a file of ``family`` is computed by a Python function (which the builder's
    settings reach)."""
    return any(query.computed_by for query in builder.candidates[family])


def _computing_source(query) -> str:
    """The source of the module a ``-- computed_by:`` file names: a change to the model's code
    is a change to the family (its cached values are not read again)."""
    if not query.computed_by:
        return ""
    import importlib.util

    spec = importlib.util.find_spec(query.computed_by.partition(":")[0])
    return Path(spec.origin).read_text(encoding="utf-8") if spec and spec.origin else query.computed_by


class FeatureCache:
    """The feature cache as one opened shop, as of one date, uses it: the keys of its families
    and assembled tables, reading and writing them. The source is fingerprinted once."""

    def __init__(self, shop: Shop, as_of: date) -> None:
        self.shop = shop
        self.as_of = as_of
        self.source = _digest(source_fingerprint(shop))
        self._definitions: dict[str, str] = {}

    def at(self, day: date) -> FeatureCache:
        """The same shop's cache as of another date (for a builder of the same engine and
        settings): the fingerprint and the families' definitions are not computed again."""
        other = copy.copy(self)
        other.as_of = day
        return other

    def family_key(self, builder: FeatureBuilder, family: str) -> str:
        definition = family_definition(builder, family, self._definitions)
        return _digest("family", self.source, self.as_of.isoformat(), definition)[:40]

    def features_key(self, builder: FeatureBuilder, fields: Collection[str] | None = None) -> str:
        names = [f.name for f in builder.available if fields is None or f.name in set(fields)]
        families = builder.families_for(names)
        return _digest("features", self.source, self.as_of.isoformat(), names,
                       {family: self.family_key(builder, family) for family in families})[:40]

    # -- families ------------------------------------------------------------------------------

    def load_family(self, con: duckdb.DuckDBPyConnection, builder: FeatureBuilder, family: str) -> bool:
        """Make ``feature_<family>`` a view of its cache entry; False on a miss."""
        key = self.family_key(builder, family)
        table = f"feature_{family}"
        alias = f"segtui_cache_{family}"
        meta = _attach(con, key, alias, table)
        if meta is None:
            return False
        con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM {alias}.{table}")  # cursors read it too
        builder._made.append(("VIEW", table))
        return True

    def store_family(self, con: duckdb.DuckDBPyConnection, builder: FeatureBuilder, family: str) -> Path | None:
        key = self.family_key(builder, family)
        table = f"feature_{family}"
        meta = {"kind": "family", "family": family, "source": str(self.shop.path), "as_of": self.as_of.isoformat()}
        return _write(con, key, table, f"SELECT * FROM {table}", meta)

    # -- answers -------------------------------------------------------------------------------

    def answers_key(self, builder: FeatureBuilder, fields: Collection[str]) -> str:
        families = builder.families_for(fields)
        return _digest("answers", self.source, self.as_of.isoformat(),
                       {family: self.family_key(builder, family) for family in families})[:40]

    def load_answers(self, builder: FeatureBuilder, fields: Collection[str]) -> dict[str, int] | None:
        """The counts stored at this date over ``fields``' families (compiled filter SQL ->
        members, ``""`` -> all customers); None on a miss. Reading touches the entry."""
        key = self.answers_key(builder, fields)
        _, sidecar = _paths(key)
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            counts = meta["counts"]
            if meta.get("key") != key or meta.get("kind") != "answers" or not isinstance(counts, dict):
                return None
            os.utime(sidecar)
        except (OSError, ValueError, KeyError):
            return None
        return {str(sql): int(n) for sql, n in counts.items()}

    def store_answers(self, builder: FeatureBuilder, fields: Collection[str], counts: dict[str, int]) -> None:
        """Keep ``counts`` (as :meth:`load_answers` returns them) for the next run: a few KB
        where the families behind them would be hundreds of MB at a million customers. Best
        effort, as every write here."""
        key = self.answers_key(builder, fields)
        folder = features_cache_dir()
        _, sidecar = _paths(key, folder)
        meta = {"kind": "answers", "source": str(self.shop.path), "as_of": self.as_of.isoformat(), "counts": counts}
        tmp = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = _sidecar_tmp(folder, key, meta)
            os.replace(tmp, sidecar)
            tmp = None
        except OSError:
            return
        finally:
            if tmp is not None:
                _remove(tmp)
        evict(max_bytes(), keep=key)

    # -- assembled feature tables ----------------------------------------------------------------

    def load_features(self, con: duckdb.DuckDBPyConnection, builder: FeatureBuilder,
                      fields: Collection[str] | None = None) -> FeatureSet | None:
        """Make ``customer_features`` a view of a cached assembled table with exactly these
        fields (None: every available one); None on a miss."""
        key = self.features_key(builder, fields)
        expected = FeatureSet(self.as_of, tuple(f for f in builder.available if fields is None or f.name in set(fields)),
                              builder.unavailable, rows_sorted=True)
        meta = _attach(con, key, ATTACHED, FEATURE_TABLE, list(expected.columns))
        if meta is None:
            return None
        _drop_feature_table(con)
        con.execute(f"CREATE OR REPLACE VIEW {FEATURE_TABLE} AS SELECT * FROM {ATTACHED}.{FEATURE_TABLE}")
        return FeatureSet(expected.as_of, expected.available, expected.unavailable,
                          rows_sorted=meta.get("order") == "customer_id")

    def store_features(self, con: duckdb.DuckDBPyConnection, builder: FeatureBuilder,
                       feature_set: FeatureSet, rows: str | None = None) -> Path | None:
        """Write the assembled table (``rows``: a query of its rows made elsewhere, with its
        columns, such as one date of a pass over many) as the entry of ``feature_set``'s
        fields; its path, or None when it could not be."""
        key = self.features_key(builder, [f.name for f in feature_set.available])
        meta = {"kind": "features", "source": str(self.shop.path), "as_of": feature_set.as_of.isoformat(),
                "columns": list(feature_set.columns), "order": "customer_id",
                "unavailable": feature_set.unavailable}
        select = rows or f"SELECT * FROM {FEATURE_TABLE}"
        return _write(con, key, FEATURE_TABLE, f"{select} ORDER BY customer_id", meta)


# ---------------------------------------------------------------------------------------------
# Reading and writing one entry


def _paths(key: str, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or features_cache_dir()
    return folder / f"{key}{SUFFIX}", folder / f"{key}{SIDECAR}"


def _attach(con: duckdb.DuckDBPyConnection, key: str, alias: str, table: str,
            columns: list[str] | None = None) -> dict | None:
    """ATTACH the entry ``key`` READ_ONLY as ``alias`` and check it holds ``table`` (with
    exactly ``columns`` when given); its sidecar, or None on a miss. A damaged entry is
    deleted. Reading an entry touches it (the bound evicts the least recently used)."""
    table_file, sidecar = _paths(key)
    if not (table_file.is_file() and sidecar.is_file()):
        return None
    attached = False
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if meta.get("key") != key or (columns is not None and meta.get("columns") != columns):
            raise ValueError("entry does not match this build")
        con.execute(f"DETACH DATABASE IF EXISTS {alias}")
        con.execute(f"ATTACH {quote_str(str(table_file))} AS {alias} (READ_ONLY)")
        attached = True
        found = [r[0] for r in con.execute(f"DESCRIBE {alias}.{table}").fetchall()]
        if columns is not None and found != columns:
            raise ValueError("cached columns differ")
    except (OSError, ValueError, duckdb.Error):
        if attached:
            try:
                con.execute(f"DETACH DATABASE IF EXISTS {alias}")
            except duckdb.Error:
                pass
        _remove(table_file, sidecar)
        return None
    now = time.time()
    for path in (table_file, sidecar):
        try:
            os.utime(path, (now, now))
        except OSError:
            pass
    return meta


def _write(con: duckdb.DuckDBPyConnection, key: str, table: str, select: str, meta: dict) -> Path | None:
    """Write ``select`` as table ``table`` of the entry ``key``; None when it could not be.

    Best effort by design: a full disk or a read-only cache folder costs the next open a
    rebuild, not this command its result. An interrupt of ``con`` (a cursor the explorer
    tracks) stops the copy and leaves no file behind."""
    folder = features_cache_dir()
    table_file, sidecar = _paths(key, folder)
    tmp_table = tmp_meta = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{key}.", suffix=SUFFIX + ".tmp", dir=folder)
        os.close(fd)
        tmp_table = Path(name)
        tmp_table.unlink()  # DuckDB creates the database file itself
        writer = f"{ATTACHED}_out"
        con.execute(f"ATTACH {quote_str(str(tmp_table))} AS {writer}")
        try:
            con.execute(f"CREATE TABLE {writer}.{table} AS {select}")
            rows = con.execute(f"SELECT count(*) FROM {writer}.{table}").fetchone()[0]
        finally:
            con.execute(f"DETACH {writer}")
        tmp_meta = _sidecar_tmp(folder, key, {**meta, "rows": rows})
        os.replace(tmp_table, table_file)
        tmp_table = None
        os.replace(tmp_meta, sidecar)
        tmp_meta = None
    except (OSError, duckdb.Error):
        return None
    finally:
        for path in (tmp_table, tmp_meta):
            if path is not None:
                _remove(path, path.with_name(path.name + ".wal"))
    evict(max_bytes(), keep=key)
    return table_file


def _sidecar_tmp(folder: Path, key: str, meta: dict) -> Path:
    """The sidecar of entry ``key`` (``meta``, its key and the time) in a temp file of
    ``folder``, for the caller to rename into place."""
    fd, name = tempfile.mkstemp(prefix=f".{key}.", suffix=SIDECAR + ".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"key": key, **meta, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}, fh)
    except BaseException:
        _remove(Path(name))
        raise
    return Path(name)


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Housekeeping


@dataclass(frozen=True)
class CacheEntry:
    key: str
    files: tuple[Path, ...]
    size: int
    used: float  # last use (mtime of the table file)
    meta: dict

    @property
    def complete(self) -> bool:
        sidecar = any(p.suffix == SIDECAR for p in self.files)
        return sidecar and (self.meta.get("kind") == "answers" or any(p.suffix == SUFFIX for p in self.files))


def entries(folder: Path | None = None) -> list[CacheEntry]:
    """Every entry in the cache folder, most recently used first (temp files of a write in
    progress are not entries)."""
    folder = folder or features_cache_dir()
    if not folder.is_dir():
        return []
    groups: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        if path.name.startswith(".") or path.suffix not in (SUFFIX, SIDECAR):
            continue
        groups.setdefault(path.stem, []).append(path)
    result = []
    for key, files in groups.items():
        try:
            stats = [p.stat() for p in files]
        except OSError:
            continue
        meta = {}
        sidecar = next((p for p in files if p.suffix == SIDECAR), None)
        if sidecar is not None:
            try:
                meta = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
        result.append(CacheEntry(key, tuple(sorted(files)), sum(s.st_size for s in stats),
                                 max(s.st_mtime for s in stats), meta))
    return sorted(result, key=lambda e: e.used, reverse=True)


def evict(limit: int, keep: str | None = None, folder: Path | None = None) -> int:
    """Delete the least recently used entries until the folder holds at most ``limit`` bytes
    (the entry ``keep``, just written, stays even when it alone is larger), and the temp files of
    writes that died (a killed process) once they are :data:`STALE_TEMP_SECONDS` old: they are
    no entry and would never go otherwise. Returns bytes freed."""
    freed, total = 0, 0
    folder = folder or features_cache_dir()
    now = time.time()
    for path in _temp_files(folder):
        try:
            stat = path.stat()
        except OSError:
            continue
        if now - stat.st_mtime > STALE_TEMP_SECONDS:
            _remove(path)
            freed += stat.st_size
    full = False
    for entry in entries(folder):  # the most recently used first
        full = full or (entry.key != keep and total + entry.size > limit)
        if entry.key == keep or not full:  # past the first that does not fit, every older one goes:
            total += entry.size            # a small old entry is not kept over a larger newer one
            continue
        _remove(*entry.files)
        freed += entry.size
    return freed


def clear(folder: Path | None = None) -> tuple[int, int]:
    """Delete every cache entry (and stray temp files); return (entries, bytes) removed."""
    folder = folder or features_cache_dir()
    if not folder.is_dir():
        return 0, 0
    removed = entries(folder)
    for entry in removed:
        _remove(*entry.files)
    for path in _temp_files(folder):
        _remove(path)
    return len(removed), sum(e.size for e in removed)


def _temp_files(folder: Path) -> list[Path]:
    """The temp files of entries being written (or whose writer died) in ``folder``."""
    if not folder.is_dir():
        return []
    return [path for path in folder.iterdir()
            if path.name.startswith(".") and (path.name.endswith(".tmp") or path.name.endswith(".tmp.wal"))]
