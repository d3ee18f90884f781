"""Shared shape of the dialogs: a bordered box, a title, fields, an error line; escape cancels."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static


class Dialog(ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def say(self, message: str, error: bool = True) -> None:
        """One line under the fields: an error (bold, prefixed) or a note."""
        line = Text("✗ " + message, style="bold") if error else Text(message, style="dim")
        self.query_one(".dialog-error", Static).update(line)
