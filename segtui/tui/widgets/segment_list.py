"""The segment list: segments grouped by group, each with its count and share of customers.

An ``OptionList`` whose group headings are disabled options (the cursor skips them). Each row
is a Rich grid with fixed-width count and percent columns, so the numbers line up right-aligned
whatever the pane width. Unavailable and broken segments stay highlightable (the detail pane
says why) but are dimmed, with their reason where the count would be. A segment not counted yet
(its features are still being built) shows ``…`` where its count will be. In the wide layout,
once the background count of the last month ends is in (``segtui.tui.history``), a sparkline
of them follows the share.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from segtui.core.segments import CompiledSegment, SegmentCounts
from segtui.format import trend_spark
from segtui.tui import keys


def option_id(name: str) -> str:
    return "segment:" + name.casefold()


class SegmentList(OptionList):
    BINDINGS = keys.bindings("segments")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.segments: dict[str, CompiledSegment] = {}
        self.marked: list[str] = []  # segment names marked with space, in the order marked
        self._shown: tuple = ([], None)
        self.history = None  # every segment's last months (core.timeline.History), as far as counted

    def show(self, compiled: list[CompiledSegment], counts: SegmentCounts | None) -> None:
        """Rebuild the rows, keeping the highlighted segment highlighted."""
        self._shown = (compiled, counts)
        self.marked = [name for name in self.marked if any(c.name == name and c.usable for c in compiled)]
        keep = self.highlighted_segment
        total = counts.total if counts is not None else None
        count_width = max(len(f"{total:,}") if total else 1, 3)
        options: list[Option] = []
        group = None
        self.segments = {}
        for segment in compiled:
            if segment.segment.group != group:
                group = segment.segment.group
                options.append(Option(Text(group.upper(), style="bold"), id=f"group:{group}", disabled=True))
            self.segments[option_id(segment.name)] = segment
            options.append(Option(self._row(segment, counts, count_width, segment.name in self.marked,
                                            self._spark(segment.name)), id=option_id(segment.name)))
        with self.prevent(OptionList.OptionHighlighted):  # a rebuild is not the user moving
            self.set_options(options)
            if keep is not None and option_id(keep.name) in self.segments:
                self.highlighted = self.get_option_index(option_id(keep.name))
            elif self.segments:
                self.highlighted = self.get_option_index(next(iter(self.segments)))

    def show_history(self, history) -> None:
        """Sparklines of the last month ends beside the counts (when the list is wide enough)."""
        self.history = history
        if self._shown[0]:
            self.show(*self._shown)

    #: The list shows sparklines from this content width (the wide layout's 54 columns).
    SPARK_FROM = 48

    def _spark(self, name: str) -> str | None:
        if self.history is None or self.scrollable_content_region.width < self.SPARK_FROM:
            return None
        counts = self.history.counts.get(name)
        return None if counts is None else trend_spark(counts)

    def on_resize(self) -> None:
        if self.history is not None and self._shown[0]:
            self.show(*self._shown)

    def toggle_mark(self) -> list[str]:
        """Mark or unmark the highlighted segment (a usable one); the marked names."""
        segment = self.highlighted_segment
        if segment is not None and segment.usable:
            if segment.name in self.marked:
                self.marked.remove(segment.name)
            else:
                self.marked.append(segment.name)
            self.show(*self._shown)
        return list(self.marked)

    @staticmethod
    def _row(segment: CompiledSegment, counts: SegmentCounts | None, count_width: int, marked: bool = False,
             spark: str | None = None) -> Table:
        grid = Table.grid(expand=True, padding=(0, 1, 0, 0))
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        dim = "dim" if not segment.usable else ""
        name = Text.assemble(("●", "bold") if marked else " ", (segment.name, dim))
        if segment.usable:
            if counts is None or (segment.name not in counts and segment.name not in counts.errors):
                # not counted yet: its families are still being built
                grid.add_column(justify="right", width=count_width + 7, no_wrap=True)
                grid.add_row(name, Text("…", style="dim"))
            elif segment.name in counts.errors:
                grid.add_column(justify="right", no_wrap=True)
                grid.add_row(name, Text("count failed", style="dim italic"))
            else:
                n = counts[segment.name]
                share = n / counts.total if counts.total else 0.0
                grid.add_column(justify="right", width=count_width + 1, no_wrap=True)
                grid.add_column(justify="right", width=6, no_wrap=True)
                cells = [name, Text(f"{n:,}"), Text(f"{share * 100:.1f}%", style="dim")]
                if spark is not None:
                    grid.add_column(width=len(spark), no_wrap=True)
                    cells.append(Text(spark, style="cyan"))
                grid.add_row(*cells)
        else:
            reason = segment.reason if segment.error is None else "broken"
            grid.add_column(justify="right", no_wrap=True, max_width=18, overflow="ellipsis")
            grid.add_row(name, Text(reason or "unavailable", style="dim italic"))
        return grid

    @property
    def highlighted_segment(self) -> CompiledSegment | None:
        if self.highlighted is None or not self.option_count:
            return None
        option = self.get_option_at_index(self.highlighted)
        return self.segments.get(option.id or "")

    def jump_to(self, name: str) -> bool:
        key = option_id(name)
        if key not in self.segments:
            return False
        self.highlighted = self.get_option_index(key)
        return True
