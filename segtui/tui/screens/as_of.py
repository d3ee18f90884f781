"""As-of dialog: a date as YYYY-MM-DD (empty: the latest date in the data).

The dialog shows the data's range and refuses a date outside it in place, with the same line
the command line prints (``DataRange.refuse``), instead of starting a reload that can only fail.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from segtui.core.workspace import DataRange
from segtui.tui.screens.base import Dialog

#: What dismiss() returns for "the default date" (None already means "cancelled").
LATEST = "latest"


class AsOfScreen(Dialog):
    def __init__(self, current: date | None, data_range: DataRange | None = None) -> None:
        super().__init__()
        self.current = current
        self.data_range = data_range

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "As-of date"
            yield Label("Compute every feature as of (YYYY-MM-DD; empty: latest data)")
            if self.data_range is not None:
                span = self.data_range
                start = f"from {span.first} " if span.first is not None else ""
                yield Label(f"The data runs {start}to {span.last}", id="as-of-range")
            yield Input(self.current.isoformat() if self.current else "", id="as-of-input",
                        restrict=r"[0-9-]*", max_length=10)  # fmt: skip
            yield Static(Text("enter recompute · esc cancel", style="dim"), classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            self.dismiss(LATEST)
            return
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.say(f"'{value}' is not a date; use YYYY-MM-DD")
            return
        problem = self.data_range.refuse(day) if self.data_range is not None else None
        if problem is not None:
            self.say(problem)
            return
        self.dismiss(day)
