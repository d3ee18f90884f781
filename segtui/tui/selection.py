"""What the detail and preview panes show: a segment from the list, or an applied filter."""

from __future__ import annotations

from dataclasses import dataclass

from segtui.core.segments import CompiledSegment


@dataclass(frozen=True)
class Selection:
    title: str
    expr: str
    sql: str | None  # None: cannot be counted (``note`` says why)
    segment: CompiledSegment | None = None
    note: str | None = None

    @property
    def is_filter(self) -> bool:
        return self.segment is None

    @classmethod
    def of_segment(cls, compiled: CompiledSegment) -> "Selection":
        note = None
        if compiled.error:
            note = f"broken: {compiled.error}"
        elif not compiled.available:
            note = f"unavailable for this shop: {compiled.reason}"
        return cls(compiled.name, compiled.segment.where, compiled.sql if compiled.usable else None, compiled, note)

    @classmethod
    def of_filter(cls, expr: str, sql: str) -> "Selection":
        return cls("Filter", expr, sql)
