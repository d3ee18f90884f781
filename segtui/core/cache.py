"""The feature cache: build ``customer_features`` once per shop, as-of date and feature SQL.

DuckDB writes and reads the files (a small DuckDB database per entry, with a JSON sidecar); this
module decides the key, where entries live, when one is stale and how large the folder may grow.

Decisions:

- Entries live in the user cache folder (``segtui.locations.cache_dir()/features``), never
  beside the shop: segtui never writes to the user's data.
- The key is a sha256 over everything the table depends on: the source's fingerprint (size and
  mtime of the file, its DuckDB WAL, or each table file of a folder, plus the file's path), the
  mapping file's content, the schema of the contract views, the as-of date, and the feature
  definitions (every ``queries/features/*.sql``, the field catalogue, :data:`CACHE_VERSION`
  and the DuckDB version). Any change gives another key, so a stale entry is never found;
  it just ages out. Content is not hashed (reading 1 GB to check a cache would defeat it), so
  a file rewritten with the same size within the same mtime tick is not noticed; ``--no-cache``
  is the way out.
- An entry is written to temporary files in the cache folder and renamed into place (the
  database before its sidecar; an entry counts only when both exist), so a crash or a
  second segtui writing the same entry never leaves a half-written file under a valid name.
  Failing to write the cache is never an error: the features were built, the command goes on.
- Entries hold their rows in ``customer_id`` order (sorting on the way in costs ~0.2 s at 1M
  customers, once), and the sidecar says so (``"order"``): an export from such an entry is
  a plain scan in that order, no ``ORDER BY``, 0.3-0.4 s less for every 1M-row export
  (:func:`segtui.core.export.export_members`). An entry without the mark is read as unsorted.
- Reading: the entry is ATTACHed READ_ONLY and ``customer_features`` becomes a view over its
  table. Measured at 1M customers (benchmarks/README.md): attaching takes milliseconds and
  counts over DuckDB's own storage are as fast as over an in-memory table, while loading a
  Parquet copy into memory took seconds and a view over Parquet decodes it on every count.
  A damaged or mismatching entry is deleted and rebuilt.
- The folder is bounded (:data:`DEFAULT_MAX_BYTES`, or ``SEGTUI_CACHE_MAX_BYTES``): after each
  write the least recently used entries beyond the bound are deleted. Reading an entry touches
  it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from segtui.core.features import FEATURE_TABLE, FIELDS, FeatureSet, feature_availability
from segtui.core.source import Shop, quote_str
from segtui.locations import cache_dir
from segtui.resources import queries_dir

#: Bump when the meaning of a cached table changes without any feature SQL changing.
CACHE_VERSION = 2  # 2: entries are stored in customer_id order

#: A temp file this old belongs to no write in progress (one takes seconds even at 10M
#: customers): its writer was killed, and the next write removes it.
STALE_TEMP_SECONDS = 3600

#: The default bound on the cache folder; SEGTUI_CACHE_MAX_BYTES overrides it.
DEFAULT_MAX_BYTES = 2 * 1024**3

SUFFIX = ".duckdb"
ATTACHED = "segtui_feature_cache"  # the entry's name inside the workspace connection
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
# The key


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
    return {"files": files, "mapping": mapping, "schema": schema, "id_types": dict(sorted(shop.id_types.items()))}


def definitions_hash() -> str:
    """sha256 of what defines the features: their SQL files, the catalogue, this module's
    version and DuckDB's."""
    digest = hashlib.sha256()
    digest.update(f"cache v{CACHE_VERSION} duckdb {duckdb.__version__}\n".encode())
    for file in sorted((queries_dir() / "features").glob("*.sql")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    digest.update(repr(FIELDS).encode())
    return digest.hexdigest()


def cache_key(shop: Shop, as_of: date) -> str:
    payload = json.dumps(
        {"source": source_fingerprint(shop), "as_of": as_of.isoformat(), "definitions": definitions_hash()},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:40]


# ---------------------------------------------------------------------------------------------
# Reading and writing


def _paths(key: str, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or features_cache_dir()
    return folder / f"{key}{SUFFIX}", folder / f"{key}{SIDECAR}"


def load_features(shop: Shop, as_of: date, key: str | None = None) -> FeatureSet | None:
    """Create ``customer_features`` in the shop's connection from the cache; None on a miss.

    The FeatureSet is recomputed from the shop's tables and columns (the same function the
    build uses) and checked against what the entry says it holds, so a cached table is only
    used when its columns are exactly the ones a fresh build would make.
    """
    key = key or cache_key(shop, as_of)
    table_file, sidecar = _paths(key)
    if not (table_file.is_file() and sidecar.is_file()):
        return None
    available, unavailable = feature_availability(shop.table_names, shop.present_columns)
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        feature_set = FeatureSet(as_of, available, unavailable, rows_sorted=meta.get("order") == "customer_id")
        if meta.get("key") != key or meta.get("columns") != list(feature_set.columns):
            raise ValueError("entry does not match this build")
        shop.con.execute(f"ATTACH {quote_str(str(table_file))} AS {ATTACHED} (READ_ONLY)")
        shop.con.execute(f"CREATE OR REPLACE VIEW {FEATURE_TABLE} AS SELECT * FROM {ATTACHED}.{FEATURE_TABLE}")
        columns = [r[0] for r in shop.con.execute(f"DESCRIBE {FEATURE_TABLE}").fetchall()]
        if columns != list(feature_set.columns):
            raise ValueError("cached columns differ")
    except (OSError, ValueError, duckdb.Error):
        for statement in (f"DROP VIEW IF EXISTS {FEATURE_TABLE}", f"DETACH DATABASE IF EXISTS {ATTACHED}"):
            try:
                shop.con.execute(statement)
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
    return feature_set


def store_features(shop: Shop, feature_set: FeatureSet, key: str | None = None,
                   con: duckdb.DuckDBPyConnection | None = None) -> Path | None:
    """Write the connection's ``customer_features`` as a cache entry; None when it could not be.

    Best effort by design: a full disk or a read-only cache folder costs the next open a
    rebuild, not this command its result. ``con``: a cursor of ``shop.con`` to write with (the
    explorer's store runs beside its queries); an interrupt of it stops the copy and leaves
    no file behind.
    """
    con = con or shop.con
    key = key or cache_key(shop, feature_set.as_of)
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
            con.execute(
                f"CREATE TABLE {writer}.{FEATURE_TABLE} AS SELECT * FROM {FEATURE_TABLE} ORDER BY customer_id"
            )
        finally:
            con.execute(f"DETACH {writer}")
        meta = {
            "key": key,
            "source": str(shop.path),
            "as_of": feature_set.as_of.isoformat(),
            "columns": list(feature_set.columns),
            "order": "customer_id",
            "unavailable": feature_set.unavailable,
            "rows": con.execute(f"SELECT count(*) FROM {FEATURE_TABLE}").fetchone()[0],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        fd, name = tempfile.mkstemp(prefix=f".{key}.", suffix=SIDECAR + ".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(meta, fh)
        tmp_meta = Path(name)
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
        return any(p.suffix == SUFFIX for p in self.files) and any(p.suffix == SIDECAR for p in self.files)


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
    for entry in entries(folder):
        if entry.key == keep or total + entry.size <= limit:
            total += entry.size
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
