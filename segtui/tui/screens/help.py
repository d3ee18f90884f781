"""Help: every key (from the one key table), the filter language's functions and operators."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from segtui.core.filters import FUNCTIONS, OPERATORS
from segtui.tui.keys import help_rows


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(no_wrap=True, style="bold")
        keys.add_column()
        for key, what, where in help_rows():
            keys.add_row(Text(key), Text.assemble(what, (f"  ({where})", "dim")))
        language = Table.grid(padding=(0, 2))
        language.add_column(no_wrap=True, style="bold")
        language.add_column()
        for name, about in OPERATORS.items():
            language.add_row(Text(name), Text(about))
        for name, about in FUNCTIONS.items():
            language.add_row(Text(name + "()"), Text(about))
        body = Group(Text("Keys", style="bold underline"), keys, Text(""),
                     Text("Filter language (a SQL condition over the fields; ctrl+p lists the fields)",
                          style="bold underline"), language)  # fmt: skip
        with VerticalScroll(classes="dialog help") as box:
            box.border_title = "Help  (esc or ? closes)"
            yield Static(body)

    def action_close(self) -> None:
        self.dismiss(None)
