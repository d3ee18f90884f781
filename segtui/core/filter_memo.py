"""Compiled filters remembered between processes.

Compiling a filter is a pure function of its text, the shop's columns (names and types) and the
fields it lacks: sqlglot parses it, the whitelist checks it and DuckDB probes its types. A
headless count is a whole process, and importing sqlglot and its DuckDB dialect is ~0.1 s of it:
more than a count over a cached family takes. So the answers are kept in one small JSON file in
the user cache folder (``filters.json``, the newest :data:`LIMIT`), keyed by everything they
depend on, including the code that computes them (``filters.py`` itself and the versions of
sqlglot and DuckDB): a filter seen before is compiled without sqlglot being imported at all.

Only successes are kept: a filter with a mistake is compiled again, so its message is always
today's. A filter naming ``in_segment`` is not kept either: its SQL inlines segment files that
may have changed since. The file is best effort: unreadable, damaged or unwritable, it is
simply not used, and it is written once, by :meth:`FilterMemo.save` (at the workspace's close).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from segtui.locations import cache_dir

#: How many compiled filters the file keeps (the newest).
LIMIT = 1000

FILE_NAME = "filters.json"


_SHARED: dict[Path, FilterMemo] = {}
_SHARED_LOCK = threading.Lock()


def memo_path() -> Path:
    return cache_dir() / FILE_NAME


@functools.cache
def _code_version() -> str:
    """What the answers were computed by: the compiler's source and its libraries' versions."""
    from importlib.metadata import PackageNotFoundError, version

    import duckdb

    try:
        source = Path(__file__).with_name("filters.py").read_bytes()
    except OSError:  # an install without sources: its version then
        from segtui import __version__

        source = __version__.encode()
    try:
        sqlglot = version("sqlglot")
    except PackageNotFoundError:  # pragma: no cover - sqlglot is a dependency
        sqlglot = "?"
    return hashlib.sha256(b"\0".join([source, sqlglot.encode(), duckdb.__version__.encode()])).hexdigest()[:16]


def _key(*parts: object) -> str:
    text = json.dumps([_code_version(), *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class FilterMemo:
    """Compiled SQL of filters and the names compiled SQL reads, from ``path`` when it holds
    them (None: this process only, nothing read or written)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._changed = False
        self._entries: dict[str, object] = self._read() if path is not None else {}

    @classmethod
    def shared(cls, path: Path | None) -> FilterMemo:
        """The process's memo of ``path`` (a new one for None): the explorer's second
        workspace (the segment history's) compiles nothing its first one compiled."""
        if path is None:
            return cls()
        with _SHARED_LOCK:
            if path not in _SHARED:
                _SHARED[path] = cls(path)
            return _SHARED[path]

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _get(self, key: str) -> object | None:
        with self._lock:
            return self._entries.get(key)

    def _put(self, key: str, value: object) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = value  # newest last
            self._changed = True

    def compile(
        self, expr: str, columns: Mapping[str, str], unavailable: Mapping[str, str],
        resolve_segment: Callable[[str], str] | None = None,
    ) -> str:
        """:func:`segtui.core.filters.compile_filter`, remembered when ``expr`` names no segment."""
        kept = "in_segment" not in expr.lower()
        key = _key("compile", expr, columns, unavailable) if kept else ""
        found = self._get(key) if kept else None
        if isinstance(found, str):
            return found
        from segtui.core.filters import compile_filter

        sql = compile_filter(expr, columns, unavailable, resolve_segment)
        if kept:
            self._put(key, sql)
        return sql

    def referenced(self, sql: str) -> frozenset[str]:
        """:func:`segtui.core.filters.referenced_columns` of compiled SQL."""
        key = _key("referenced", sql)
        found = self._get(key)
        if isinstance(found, list):
            return frozenset(found)
        from segtui.core.filters import referenced_columns

        names = frozenset(referenced_columns(sql))
        self._put(key, sorted(names))
        return names

    def save(self) -> None:
        """Write what this process added (the newest :data:`LIMIT` entries), atomically: a
        temp file in the cache folder, then a rename. Silent when the folder is not writable."""
        with self._lock:
            if self.path is None or not self._changed:
                return
            on_disk = self._read()  # another process may have added its own since
            merged = {**on_disk, **self._entries}
            entries = dict(list(merged.items())[-LIMIT:])
            self._changed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temp = tempfile.mkstemp(prefix=".filters.", suffix=".tmp", dir=self.path.parent)
        except OSError:
            return
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(entries, handle)
            os.replace(temp, self.path)
        except OSError:
            Path(temp).unlink(missing_ok=True)
