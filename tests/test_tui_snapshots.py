"""SVG snapshots of the explorer (pytest-textual-snapshot) at 80×24 and 120×36, with and without
colour. The data is a generated shop at a fixed as-of date and the header has no clock, so the
pictures only change when the UI does. Update with ``pytest --snapshot-update`` after looking."""

from __future__ import annotations

import pytest
from tui_fixtures import make_app, settle, tui_shop, wait_for, wait_ready  # noqa: F401


@pytest.fixture
def colour(monkeypatch):
    """conftest sets NO_COLOR for every test; these snapshots want the real colours."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_main_view_80x24(snap_compare, tui_shop, colour):
    assert snap_compare(make_app(tui_shop), terminal_size=(80, 24), run_before=wait_ready)


def test_main_view_120x36(snap_compare, tui_shop, colour):
    assert snap_compare(make_app(tui_shop), terminal_size=(120, 36), run_before=wait_ready)


def test_filter_bar_with_error_no_color_80x24(snap_compare, tui_shop):
    """NO_COLOR: the focused filter bar is told apart by its heavy border, the error by ✗."""

    async def run_before(pilot):
        await wait_ready(pilot)
        await pilot.press("slash", *"orders >= 3")
        bar = pilot.app.query_one("FilterBar")
        bar.input.cursor_blink = False  # a blinking cursor makes the picture depend on the moment
        # under load the debounced count can land late: wait for it, then for the error line
        await wait_for(pilot, lambda: bar.last_good is not None and bar.last_good.expr == "orders >= 3")
        bar.input.insert_text_at_cursor(" AND ordrs")
        await wait_for(pilot, lambda: "ordrs" in str(bar.query_one("#filter-status").render()))

    assert snap_compare(make_app(tui_shop), terminal_size=(80, 24), run_before=run_before)


def test_export_dialog_120x36(snap_compare, tui_shop, colour):
    async def run_before(pilot):
        await wait_ready(pilot)
        await pilot.press("e")
        await pilot.pause()
        for field in pilot.app.screen.query("Input"):
            field.cursor_blink = False  # a blinking cursor makes the picture depend on the moment

    assert snap_compare(make_app(tui_shop), terminal_size=(120, 36), run_before=run_before)


async def _open_customer(pilot) -> None:
    """The main view, then enter on the third member of the first segment: their story."""
    from segtui.tui.screens.customer import CustomerScreen

    await wait_ready(pilot)
    await wait_for(pilot, lambda: len(pilot.app.query_one("PreviewPane").rows) > 2)
    pilot.app.query_one("#preview-table").focus()
    await pilot.press("down", "down", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerScreen) and pilot.app.screen.story is not None)


def test_customer_view_80x24(snap_compare, tui_shop, colour):
    assert snap_compare(make_app(tui_shop), terminal_size=(80, 24), run_before=_open_customer)


def test_customer_view_120x36(snap_compare, tui_shop, colour):
    assert snap_compare(make_app(tui_shop), terminal_size=(120, 36), run_before=_open_customer)


def test_main_view_160x45(snap_compare, tui_shop, colour):
    assert snap_compare(make_app(tui_shop), terminal_size=(160, 45), run_before=wait_ready)


def test_main_view_after_resizes_120_80_160(snap_compare, tui_shop, colour):
    """Widths follow the size on every resize: the same picture as opening at 160×45."""

    async def run_before(pilot):
        await wait_ready(pilot)
        for size in ((80, 24), (160, 45)):
            await pilot.resize_terminal(*size)
            await settle(pilot, rounds=1)

    assert snap_compare(make_app(tui_shop), terminal_size=(120, 36), run_before=run_before)


async def _mark_two(pilot) -> None:
    """The first two segments marked with space: their overlap heads the profile."""
    await wait_ready(pilot)
    await pilot.press("space", "down", "space")
    await wait_for(pilot, lambda: pilot.app.query_one("DetailPane").overlap is not None)
    await settle(pilot)


def test_two_marked_segments_80x24(snap_compare, tui_shop):
    assert snap_compare(make_app(tui_shop), terminal_size=(80, 24), run_before=_mark_two)


def test_two_marked_segments_120x36(snap_compare, tui_shop):
    assert snap_compare(make_app(tui_shop), terminal_size=(120, 36), run_before=_mark_two)


async def _history_counted(pilot) -> None:
    """Every segment's last 12 month ends counted: sparklines (wide) and the trend in the profile."""
    await wait_ready(pilot)
    await wait_for(pilot, lambda: pilot.app.history is not None and pilot.app.history.complete, timeout=120)
    await settle(pilot)


def test_segment_history_80x24(snap_compare, tui_shop):
    assert snap_compare(make_app(tui_shop, history=True), terminal_size=(80, 24), run_before=_history_counted)


def test_segment_history_120x36(snap_compare, tui_shop):
    assert snap_compare(make_app(tui_shop, history=True), terminal_size=(120, 36), run_before=_history_counted)


async def _rfm_transitions(pilot) -> None:
    from segtui.tui.screens.transitions import TransitionsScreen

    await wait_ready(pilot)
    segments = pilot.app.query_one("SegmentList")
    # RFM: Champions, whose members' rfm_segment ("Champions") is narrower than its header: the
    # table behind the view has the same columns whenever its rows arrive
    while segments.highlighted_segment.segment.name != "RFM: Champions":
        await pilot.press("down")
    await settle(pilot)
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TransitionsScreen) and pilot.app.screen.result is not None,
                   timeout=120)
    await settle(pilot)
    await pilot.pause(0.3)  # the matrix widened its box: one more layout under a loaded machine


def test_transitions_80x24(snap_compare, tui_shop):
    assert snap_compare(make_app(tui_shop), terminal_size=(80, 24), run_before=_rfm_transitions)


def test_transitions_120x36(snap_compare, tui_shop):
    assert snap_compare(make_app(tui_shop), terminal_size=(120, 36), run_before=_rfm_transitions)
