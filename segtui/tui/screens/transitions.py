"""Transitions: where the customers of a group of segments (the RFM grid, usage levels...) were
at an earlier month end and where they are at the as-of date (``segtui transitions``).

The matrix is counted in a thread on a workspace of its own (a second connection to the shop,
as the segment history is: ``Workspace.at`` on the shown one would clash with its tables); its
families at both dates come from the feature cache when the history has counted them. ``[``
and ``]`` move the start a month earlier or later. Segments of a group that share customers
are counted with each customer in the group's first segment that holds them, and the screen
says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import ModalScreen
from textual.widgets import Static

from segtui.core import timeline
from segtui.errors import SegtuiError


class TransitionsScreen(ModalScreen):
    BINDINGS = [
        Binding("escape,t", "close", "Close"),
        Binding("left_square_bracket", "move(-1)", "Earlier start"),
        Binding("right_square_bracket", "move(1)", "Later start"),
    ]

    def __init__(self, group: str, starts: list[date], end: date, open_workspace: Callable[[], Any],
                 log: Callable[[str], Any]) -> None:  # fmt: skip
        super().__init__()
        self.group = group
        self.starts = starts  # the month ends before the as-of date, oldest first
        self.index = len(starts) - 1
        self.end = end
        self._open = open_workspace
        self._log = log
        self.result: timeline.Transitions | None = None
        self.note = ""
        self.error: str | None = None
        self._request = 0
        self._ws = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def compose(self) -> ComposeResult:
        with ScrollableContainer(classes="dialog transitions") as box:
            box.border_title = "Transitions  ([ ] move the start · esc closes)"
            yield Static(id="transitions-body")

    def on_mount(self) -> None:
        self._count()

    @property
    def start(self) -> date | None:
        return self.starts[self.index] if self.starts else None

    def action_move(self, step: int) -> None:
        index = min(max(self.index + step, 0), len(self.starts) - 1)
        if index != self.index:
            self.index = index
            self._count()

    def action_close(self) -> None:
        self.dismiss(None)

    def on_resize(self) -> None:
        self._draw()  # the body's width follows the box

    def on_unmount(self) -> None:
        self._interrupt()
        for thread in self._threads:
            thread.join(timeout=30)  # never end the process under a running DuckDB query

    def _interrupt(self) -> None:
        with self._lock:
            if self._ws is not None:
                try:
                    self._ws.con.interrupt()
                except Exception:  # noqa: BLE001 - closing: nothing runs
                    pass

    def _count(self) -> None:
        self.result, self.error = None, None
        if self.start is None:
            self.error = "the data starts in the as-of date's month: there is no earlier month end"
            self._draw()
            return
        self._request += 1
        request, start = self._request, self.start
        self._interrupt()
        self._draw()
        thread = threading.Thread(target=self._run, args=(request, start), name="segtui-transitions", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, request: int, start: date) -> None:
        import duckdb

        ws = None
        result, note, error = None, "", None
        try:
            ws = self._open()
            with self._lock:
                self._ws = ws
            if request != self._request:
                return
            try:
                result = timeline.transitions(ws, self.group, start, self.end)
            except timeline.TimeError as problem:
                if "overlap" not in str(problem):
                    raise
                result = timeline.transitions(ws, self.group, start, self.end, first_match=True)
                note = (f"{str(problem).split(': ', 1)[-1].split(';')[0]}: each customer is counted in the group's "
                        "first segment that holds them")
        except duckdb.InterruptException:
            return
        except SegtuiError as problem:
            error = str(problem)
        except Exception as problem:  # noqa: BLE001 - a bug here must not take the explorer down
            error = f"unexpected error ({type(problem).__name__}); details in {self._log('transitions')}"
        finally:
            with self._lock:
                if self._ws is ws:
                    self._ws = None
            if ws is not None:
                ws.close()
        if request == self._request and self.is_attached:
            self.app.call_from_thread(self._show, request, result, note, error)

    def _show(self, request: int, result, note: str, error: str | None) -> None:
        if request != self._request or not self.is_attached:
            return
        self.result, self.note, self.error = result, note, error
        self._draw()

    def _draw(self) -> None:
        body = self.query_one("#transitions-body", Static)
        title = Text.assemble((self.group, "bold"), (f"  from {self.start} to {self.end}" if self.start else "", "dim"))
        if self.error is not None:
            body.update(Group(title, Text(""), Text(self.error, style="bold")))
        elif self.result is None:
            body.update(Group(title, Text(""), Text("counting…", style="dim")))
        else:
            parts = [title, Text("rows: at the start · columns: now · the diagonal stayed", style="dim")]
            if self.note:
                parts.append(Text(self.note, style="italic"))
            matrix = render_matrix(self.result)
            # as wide as the matrix, or the box where the matrix is narrower: the box scrolls
            # sideways where the matrix is wider than the screen
            box = self.query_one(ScrollableContainer).scrollable_content_region.width
            body.styles.width = max(self.app.console.measure(matrix).maximum, box, 40)
            body.update(Group(*parts, Text(""), matrix))


def render_matrix(result: timeline.Transitions) -> Table:
    """The matrix with numbered columns (the rows carry the names), totals on both margins."""
    number = {name: str(i) for i, name in enumerate(result.columns[:-1], 1)}
    prefix = f"{result.group}: "  # "RFM: Champions" is "Champions" in the RFM matrix
    widths = {c: max(len(f"{result.column_total(c):,}"), len(number.get(c, c))) for c in result.columns}
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold", pad_edge=False)
    table.add_column("from \\ to", no_wrap=True, overflow="ellipsis", max_width=26)
    for name in result.columns:
        table.add_column(number.get(name, name), justify="right", no_wrap=True, min_width=widths[name])
    table.add_column("total", justify="right", no_wrap=True, style="bold", min_width=5)
    for row in result.rows:
        label = f"{number[row]} {row.removeprefix(prefix)}" if row in number else row
        cells = []
        for column in result.columns:
            n = result.cells.get((row, column), 0)
            style = "bold reverse" if row == column and n else ("dim" if not n else "")
            cells.append(Text(f"{n:,}" if n else "·", style=style))
        table.add_row(Text(label, style="dim" if row not in number else ""), *cells, Text(f"{result.row_total(row):,}"))
    table.add_row(Text("total", style="bold"), *(Text(f"{result.column_total(c):,}", style="bold") for c in result.columns),
                  Text(""))
    return table
