"""The one-line header: source, as-of date, customer total, features still being built, and
the applied filter if any.

Not Textual's Header: that one has a clock, which would make every snapshot differ.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TopBar(Static):
    def show(self, source: str, as_of: str | None = None, total: int | None = None, note: str = "",
             building: str = "") -> None:  # fmt: skip
        """``building``: the features still being built (the counts of the segments that read
        them come as they are ready)."""
        text = Text.assemble(("segtui", "bold"), " │ ", (source, "bold"))
        if as_of:
            text.append(" │ as of ")
            text.append(as_of, style="bold")
        if total is not None:
            text.append(f" │ {total:,} customers")
        if building:
            text.append(" │ ")
            text.append(building, style="dim")
        if note:
            text.append(" │ ")
            text.append(note, style="italic")
        # one line, docked, as wide as the screen: its size never changes, and a layout
        # would redraw every widget (each "building features N%…" step ~10 ms of the
        # interpreter while a build runs beside it)
        self.update(text, layout=False)
