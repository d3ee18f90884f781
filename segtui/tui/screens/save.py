"""Save dialog: name, group and description for the filter being saved as a segment.

The dialog only collects; the app asks before overwriting (``ConfirmScreen``) and writes with
``save_segment`` in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

from segtui.tui.screens.base import Dialog


@dataclass(frozen=True)
class SaveRequest:
    name: str
    group: str
    description: str
    where: str


class SaveScreen(Dialog):
    def __init__(self, where: str, groups: list[str], name: str = "", group: str = "Custom",
                 description: str = "") -> None:  # fmt: skip
        super().__init__()
        self.where = where
        self.groups = groups
        self.initial = (name, group, description)

    def compose(self) -> ComposeResult:
        name, group, description = self.initial
        with Vertical(classes="dialog") as box:
            box.border_title = "Save as segment"
            yield Static(Text.assemble(("filter ", "dim"), (self.where, "italic")))
            yield Label("Name")
            yield Input(name, id="save-name", placeholder="e.g. Mobile repeat buyers")
            yield Label("Group")
            yield Input(group, id="save-group", suggester=SuggestFromList(self.groups, case_sensitive=False))
            yield Label("Description")
            yield Input(description, id="save-description", placeholder="who they are and what to do with them")
            yield Static(Text("enter save · tab next field · esc cancel", style="dim"), classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#save-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = " ".join(self.query_one("#save-name", Input).value.split())
        if not name:
            self.say("a segment needs a name")
            self.query_one("#save-name", Input).focus()
            return
        group = " ".join(self.query_one("#save-group", Input).value.split()) or "Custom"
        description = " ".join(self.query_one("#save-description", Input).value.split())
        self.dismiss(SaveRequest(name, group, description, self.where))
