"""Unit tests of the explorer's pure parts: completion, bars and numbers (the profile's numbers are
segtui.core.answers', tested in test_answers.py)."""

from __future__ import annotations

from datetime import datetime

from segtui.tui.completion import Vocabulary, complete
from segtui.format import bar, cell, percent, signed, spark

VOCAB = Vocabulary(
    fields={"orders": "n", "orders_365d": "n", "total_spent": "m", "main_device": "d"},
    segments=["Best customers", "Can't lose them"],
    values={"main_device": ["mobile", "desktop"]},
)


def test_complete_fields_functions_keywords():
    assert complete("ord", VOCAB).candidates[:2] == ["orders", "orders_365d"]
    assert complete("spent", VOCAB).candidates == ["total_spent"]  # inside a word
    assert complete("orders > 1 an", VOCAB).candidates == ["and"]  # keyword in the typed case
    assert complete("coal", VOCAB).candidates == ["coalesce("]


def test_complete_segment_names_and_values():
    found = complete("in_segment('Ca", VOCAB)
    assert found.kind == "segment" and found.candidates == ["Can''t lose them')"]  # quote escaped
    assert complete("main_device = 'd", VOCAB).candidates == ["desktop'"]
    assert complete("main_device IN ('mobile', 'd", VOCAB).candidates == ["desktop'"]
    assert complete("orders = 'x", VOCAB) is None  # no values known for orders


def test_bars_and_numbers():
    assert bar(0.5, 4) == "██  "
    assert bar(1 / 8, 1) == "▏"
    assert len(bar(0.3, 10)) == 10 and bar(0, 3) == "   " and bar(2, 3) == "███"
    assert spark([0, 1, 2, 4]) == " ▂▄█"
    assert percent(0.1234) == "12.3%" and signed(5) == "+5" and signed(-1200) == "-1,200" and signed(0) == "±0"
    assert cell(None) == "" and cell(True) == "yes" and cell(1234.5) == "1,234.50"
    assert cell(datetime(2026, 1, 2, 3, 4)) == "2026-01-02"



def test_one_key_table_feeds_the_bindings_the_palette_and_the_help():
    """Every key bound anywhere in the explorer is a row of the key table, every row with an
    action is bound where it says, and the palette's actions exist on the app."""
    from segtui.tui import keys
    from segtui.tui.app import SegtuiApp
    from segtui.tui.screens.customer import CustomerScreen, TimelineTable
    from segtui.tui.widgets.filter_bar import FilterInput
    from segtui.tui.widgets.preview import PreviewTable
    from segtui.tui.widgets.segment_list import SegmentList

    scopes = {"app": SegtuiApp, "segments": SegmentList, "preview": PreviewTable, "filter": FilterInput,
              "customer": CustomerScreen, "timeline": TimelineTable}
    table = {(k.scope, k.key, k.action) for k in keys.KEYS if k.action is not None}
    bound = {(scope, b.key, b.action) for scope, cls in scopes.items() for b in cls.BINDINGS}
    assert bound == table
    assert {k.scope for k in keys.KEYS} <= set(scopes) | {"textual"}
    for label, action, _ in keys.palette():
        assert callable(getattr(SegtuiApp, f"action_{action}", None)), label
    shown = [row[0] for row in keys.help_rows()]
    for k in keys.KEYS:
        if k.scope != "segments":
            assert k.shown in shown


def test_a_model_that_cannot_be_fitted_or_checked_says_why():
    from rich.console import Console, Group

    from segtui.core.predict import ModelCheck
    from segtui.tui.widgets.detail import render_model

    def text(check) -> str:
        console = Console(width=100, record=True, file=open("/dev/null", "w"), color_system=None)
        console.print(Group(*render_model(check)))
        return " ".join(console.export_text().split())

    assert render_model(None) == []
    assert "not fitted: too few customers to fit the purchase model" in text(
        ModelCheck(None, "too few customers to fit the purchase model: 2 buyers, need at least 30", None, None))


def test_history_posts_one_message_at_a_time_and_the_newest_next():
    """The segment history's results reach the UI one message at a time: what is known while
    one is on its way waits until it is drawn, and only the newest is posted then; the last
    (complete) history is never dropped."""
    from segtui.tui.history import HistoryRun

    posted = []
    run = HistoryRun(shown="ws", open_workspace=lambda: None, post=posted.append, log=lambda where: "")
    run.offer("1 date")
    run.offer("2 dates")
    run.offer("3 dates")
    assert [m.history for m in posted] == ["1 date"]
    run.drawn()
    assert [m.history for m in posted] == ["1 date", "3 dates"]
    run.drawn()  # nothing newer: the next offer is posted at once
    run.offer("12 dates, complete")
    assert [m.history for m in posted] == ["1 date", "3 dates", "12 dates, complete"]
    assert all(m.workspace == "ws" for m in posted)


def test_a_workspace_opened_beside_is_taken_once_or_closed():
    """The segment history's workspace opened beside the first build stage: taken once (then
    None), and one that nobody takes is closed, also when the discard comes before the open
    ended; an open that failed gives None (the history opens again and says why)."""
    import threading

    from segtui.tui.history import Beside

    class Opened:
        closed = False

        def close(self):
            self.closed = True

    opened = Opened()
    beside = Beside(lambda: opened)
    assert beside.take() is opened and beside.take() is None and not opened.closed

    let_go, late = threading.Event(), Opened()

    def slow():
        let_go.wait(10)
        return late

    beside = Beside(slow)
    beside.discard()  # before the open ended: closed once it does
    let_go.set()
    assert beside.take() is None
    for _ in range(100):
        if late.closed:
            break
        threading.Event().wait(0.02)
    assert late.closed

    def failing():
        raise OSError("the disk went away")

    assert Beside(failing).take() is None
