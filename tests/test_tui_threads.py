"""No DuckDB work on the explorer's UI thread.

The explorer reaches DuckDB only through its workspace: the question methods, the connection
(for a cursor) and ``close``. Each of them is wrapped to note the thread it ran on, then the
explorer is driven through loading, moving in the list, a live filter, paging, sorting and a
refresh (which retires and closes the first workspace). The Pilot runs the app on the main
thread, so "ran on the main thread" is "ran on the UI thread".
"""

from __future__ import annotations

import threading

import pytest
from tui_fixtures import make_app, settle, tui_shop, wait_for, wait_ready  # noqa: F401

from segtui.core.workspace import Workspace
from segtui.tui.widgets.filter_bar import FilterBar
from segtui.tui.widgets.preview import PreviewTable

ENTRANCES = ("count_all", "count_ready", "build_in_stages", "require", "count", "count_where", "column_types", "top_values", "members_page", "profile",
             "total", "reload_segments", "close")  # fmt: skip


@pytest.fixture
def entered(monkeypatch) -> list[tuple[str, bool]]:
    """(entrance, whether it ran on the UI thread), in call order."""
    seen: list[tuple[str, bool]] = []

    def noted(name, real):
        def wrapper(self, *args, **kwargs):
            seen.append((name, threading.current_thread() is threading.main_thread()))
            return real(self, *args, **kwargs)

        return wrapper

    for name in ENTRANCES:
        monkeypatch.setattr(Workspace, name, noted(name, getattr(Workspace, name)))
    monkeypatch.setattr(Workspace, "con", property(noted("con", Workspace.con.fget)))
    return seen


async def test_no_duckdb_call_on_the_ui_thread(tui_shop, entered):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        await pilot.press("slash")
        app.query_one(FilterBar).input.value = "orders >= 2"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        app.query_one(PreviewTable).focus()
        await pilot.press("right_square_bracket", "o")
        await settle(pilot)
        first = app.ws
        app.ready.clear()
        await pilot.press("r")
        await wait_ready(pilot)
        assert app.ws is not first
        await wait_for(pilot, lambda: any(name == "close" for name, _ in entered))  # the first one, retired
        await pilot.press("q")
    seen = list(entered)
    app.ws.close()
    names = {name for name, _ in seen}
    assert {"con", "build_in_stages", "count_ready", "profile", "members_page", "count_where", "top_values", "close"} <= names
    assert [name for name, on_ui in seen if on_ui] == []
