"""The loading state: shown from the first frame while the shop opens and the features build."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import ProgressBar, Static


class LoadingPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="loading-title")
        with Center(id="loading-center"):
            yield ProgressBar(total=1.0, show_eta=True, id="loading-bar")
        yield Static(id="loading-step")

    def start(self, title: str) -> None:
        self.query_one("#loading-title", Static).update(Text(title, style="bold"))
        bar = self.query_one(ProgressBar)
        bar.update(total=1.0, progress=0.0)
        bar.query_one("#eta").display = True
        self.query_one("#loading-step", Static).update(Text("starting… (q quits)", style="dim"))

    def step(self, step: str, fraction: float) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(progress=fraction)
        # a full bar has no time left to estimate: Textual's ETA would read --:--:--
        bar.query_one("#eta").display = fraction < 1.0
        self.query_one("#loading-step", Static).update(Text(step, style="dim"))

    def fail(self, message: str) -> None:
        """A failed first load: nothing to go back to, so say why and how to leave."""
        self.query_one("#loading-step", Static).update(
            Text.assemble(("could not open the shop: ", "bold"), message, "\npress q to quit")
        )
