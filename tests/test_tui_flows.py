"""Pilot tests of the explorer: every flow a user has, against a generated shop at a fixed date.

Counts are checked against the engine (``Workspace.count``) rather than hard-coded, so a change
in the generator does not break these tests, only a disagreement between the TUI and the engine.
"""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest
from rich.console import Console
from tui_fixtures import AS_OF, make_app, settle, tui_shop, wait_for, wait_ready  # noqa: F401

from segtui.core.workspace import open_workspace
from segtui.tui.screens.as_of import AsOfScreen
from segtui.tui.screens.confirm import ConfirmScreen
from segtui.tui.screens.customer import TIMELINE_PAGE, CustomerScreen
from segtui.tui.screens.export import ExportScreen
from segtui.tui.screens.help import HelpScreen
from segtui.tui.screens.save import SaveScreen
from segtui.tui.widgets.detail import DetailPane
from segtui.tui.widgets.filter_bar import FilterBar
from segtui.tui.widgets.preview import PreviewPane, PreviewTable, shown_order
from segtui.tui.widgets.segment_list import SegmentList
from segtui.tui.widgets.top_bar import TopBar


def plain(renderable, width: int = 100) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    return console.export_text()


def static_text(app, selector: str) -> str:
    return plain(app.query_one(selector).content)


@pytest.fixture(scope="module")
def engine(tui_shop):
    """The engine's own answers for the same shop and date, to compare the TUI against."""
    ws = open_workspace(tui_shop, AS_OF)
    yield ws
    ws.close()


async def test_layout_and_navigation(tui_shop, engine):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        header = plain(app.query_one(TopBar).content)
        assert "shop.duckdb" in header and "as of 2026-06-30" in header
        assert f"{engine.total():,} customers" in header
        segment_list = app.query_one(SegmentList)
        first = segment_list.highlighted_segment
        assert first is not None and first.name == engine.catalog.usable[0].name
        assert app.focused is segment_list
        detail = app.query_one(DetailPane)
        assert detail.selection.title == first.name
        assert detail.profile is not None
        assert detail.profile.customers == engine.count(first.segment.where)
        body = plain(app.query_one("#detail-body").content)
        for part in ("filter", "avg order value", "orders per customer", "days since last order",
                     "Preferred hour of day", "Preferred weekday", "Top favourite categories", "Main device"):
            assert part in body
        preview = app.query_one(PreviewPane)
        assert preview.member_count == detail.profile.customers
        table = app.query_one(PreviewTable)
        assert table.row_count == min(100, preview.member_count)
        assert f"of {preview.member_count:,}" in static_text(app, "#preview-status")
        # moving down the list updates the detail and the preview
        await pilot.press("down", "down")
        await settle(pilot)
        after = segment_list.highlighted_segment
        assert detail.selection.title == after.name != first.name
        assert detail.profile.customers == engine.count(after.segment.where)
        assert preview.member_count == detail.profile.customers


async def test_preview_pages_and_sorts(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        # the largest segment, so that it has several pages
        segment_list = app.query_one(SegmentList)
        biggest = max(app.extras.counts, key=lambda name: app.extras.counts[name])
        segment_list.jump_to(biggest)
        await settle(pilot)
        preview = app.query_one(PreviewPane)
        assert preview.member_count > 100
        app.query_one(PreviewTable).focus()
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert preview.page_offset == 100
        assert static_text(app, "#preview-status").startswith("101–")
        await pilot.press("o")
        await settle(pilot)
        assert preview.page_offset == 0 and preview.sort != "total_spent"
        # the column the rows are ordered by stands right after customer_id, always in view
        keys = [str(column.key.value) for column in app.query_one(PreviewTable).ordered_columns]
        assert keys[:2] == ["customer_id", preview.sort]
        # a new order starts at its first page, and paging goes on from there in that order
        first_page = [row[0] for row in preview.rows]
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert preview.page_offset == 100 and not set(first_page) & {row[0] for row in preview.rows}
        assert static_text(app, "#preview-status").startswith("101–")


def _members_fit(app) -> tuple[int, int]:
    """(columns shown, columns left out) of the members table, asserting that the shown ones fit
    the table whole (no column cut to its first letters at the right edge)."""
    table, preview = app.query_one(PreviewTable), app.query_one(PreviewPane)
    used = sum(column.get_render_width(table) for column in table.ordered_columns)
    room = table.size.width - (table.styles.scrollbar_size_vertical if table.row_count > table.size.height - 1 else 0)
    assert used <= room, (used, room, [str(c.key.value) for c in table.ordered_columns])
    assert len(table.columns) + preview.hidden == len(preview.page.columns)
    status = static_text(app, "#preview-status")
    assert (f"+{preview.hidden} column" in status) == (preview.hidden > 0), status
    return len(table.columns), preview.hidden


async def test_members_show_whole_columns_at_every_size(tui_shop):
    """A column cut to a letter at the pane's edge says nothing: the members table shows the
    columns that fit whole, says how many more there are, and refits after every resize; the
    zoom (z) brings more of them in."""
    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        narrow, hidden = _members_fit(app)
        assert hidden > 0  # at 80 columns the pane cannot hold every feature of a segment
        seen = {}
        for size in ((120, 36), (160, 45), (81, 24), (80, 24), (160, 45)):
            await pilot.resize_terminal(*size)
            await settle(pilot, rounds=1)
            seen[size] = _members_fit(app)[0]
        assert seen[(80, 24)] == narrow and seen[(160, 45)] > narrow
        app.query_one(PreviewTable).focus()
        await pilot.press("z")
        await settle(pilot, rounds=1)
        assert _members_fit(app)[0] > seen[(160, 45)] or app.query_one(PreviewPane).hidden == 0


async def test_filter_live_count_typo_and_apply(tui_shop, engine):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await pilot.press("slash")
        bar = app.query_one(FilterBar)
        assert bar.display and app.focused is bar.input
        await pilot.press(*"orders >= 3")
        await settle(pilot)
        expected = engine.count("orders >= 3")
        status = static_text(app, "#filter-status")
        assert f"{expected:,} customers" in status
        assert re.search(r"[+-]\d[\d,]* vs ", status)  # difference from the highlighted segment
        # a typo: the one-line error, and the last good count kept (greyed)
        bar.input.insert_text_at_cursor(" AND ordrs > 1")  # faster than a key press per character
        await settle(pilot)
        status = static_text(app, "#filter-status")
        assert "unknown field 'ordrs'" in status and "did you mean 'orders'" in status
        assert f"{expected:,} customers" in status and "last valid filter" in status
        # fix it and apply with enter
        bar.input.value = "orders >= 3 AND orders > 5"
        await pilot.press("enter")
        await settle(pilot)
        applied = engine.count("orders >= 3 AND orders > 5")
        assert not bar.display
        detail = app.query_one(DetailPane)
        assert detail.selection.is_filter and detail.profile.customers == applied
        assert app.query_one(PreviewPane).member_count == applied
        assert "filter: orders >= 3 AND orders > 5" in plain(app.query_one(TopBar).content)
        # escape goes back to the highlighted segment
        await pilot.press("escape")
        await settle(pilot)
        assert not app.query_one(DetailPane).selection.is_filter


async def test_completion_with_tab_and_edit_segment(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await pilot.press("slash", *"main_dev")
        await pilot.pause(0.2)
        await pilot.press("tab")
        assert app.query_one(FilterBar).input.value == "main_device"
        app.query_one(FilterBar).input.insert_text_at_cursor(" = 'mo")
        await pilot.pause(0.2)
        await pilot.press("tab")
        assert app.query_one(FilterBar).input.value == "main_device = 'mobile'"
        app.query_one(FilterBar).input.insert_text_at_cursor(" and in_segment('Best")
        await pilot.pause(0.2)
        await pilot.press("tab")
        assert app.query_one(FilterBar).input.value.endswith("in_segment('Best customers')")
        await settle(pilot)
        assert "customers ·" in static_text(app, "#filter-status")
        await pilot.press("escape")
        # E starts from the highlighted segment's expression, and the difference to it is zero
        segment = app.query_one(SegmentList).highlighted_segment
        await pilot.press("E")
        await settle(pilot)
        bar = app.query_one(FilterBar)
        assert bar.input.value == " ".join(segment.segment.where.split())
        assert f"{app.extras.counts[segment.name]:,} customers" in static_text(app, "#filter-status")
        assert "±0 vs" in static_text(app, "#filter-status")
        # the cursor is at the end and nothing is selected: typing extends the filter
        await pilot.press(*" AND orders >= 1")
        assert bar.input.value == " ".join(segment.segment.where.split()) + " AND orders >= 1"
        await pilot.press("escape")
        assert not bar.display


async def test_export_writes_the_file_and_says_rows(tui_shop, tmp_path, engine):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        segment = app.query_one(SegmentList).highlighted_segment
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        target = tmp_path / "members.csv"
        path_input = app.screen.query_one("#export-path")
        path_input.value = str(target)
        app.screen.query_one("#export-columns").value = "orders, total_spent"
        path_input.focus()
        await pilot.press("enter")
        await settle(pilot)
        expected = engine.count(segment.segment.where)
        assert target.exists()
        lines = target.read_text().splitlines()
        assert lines[0] == "customer_id,orders,total_spent" and len(lines) == expected + 1
        assert any(f"wrote {expected:,} rows to {target}" in m for m in app.messages)
        # the same path again: refused inline, nothing overwritten, the dialog stays open
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#export-path").value = str(target)
        app.screen.query_one("#export-path").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert "already exists" in " ".join(static_text(app.screen, ".dialog-error").split())  # a long path wraps
        # stdout is the explorer's own screen; a column typo gets the nearest name
        app.screen.query_one("#export-path").value = "-"
        await pilot.press("enter")
        await pilot.pause()
        assert "is for the command line" in static_text(app.screen, ".dialog-error")
        app.screen.query_one("#export-path").value = str(tmp_path / "other.csv")
        app.screen.query_one("#export-columns").value = "orders, total_spnt"
        await pilot.press("enter")
        await pilot.pause()
        assert "unknown column 'total_spnt'; did you mean 'total_spent'?" in static_text(app.screen, ".dialog-error")
        app.screen.query_one("#export-columns").value = "orders, zzzzzz"
        await pilot.press("enter")
        await pilot.pause()
        error = static_text(app.screen, ".dialog-error")
        assert "unknown column 'zzzzzz'; ctrl+p lists the fields" in error and "segtui" not in error
        # no columns: customer_id, the contact columns, every feature
        app.screen.query_one("#export-columns").value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        header = (tmp_path / "other.csv").read_text().splitlines()[0]
        assert header.startswith("customer_id,email,first_name,last_name,phone,orders,total_spent,")
        # escape cancels
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, ExportScreen)


async def test_save_writes_a_segment_that_appears_in_the_list(tui_shop, tmp_path, monkeypatch):
    segments = tmp_path / "my_segments"  # the default folder, not there yet: save creates it
    monkeypatch.setenv("SEGTUI_SEGMENTS_DIR", str(segments))
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await pilot.press("s")  # nothing to save yet
        assert any("nothing to save" in m for m in app.messages)
        await pilot.press("slash")
        app.query_one(FilterBar).input.value = "orders >= 4 AND main_device = 'mobile'"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        app.screen.query_one("#save-name").value = "[bold] mobile fans"
        app.screen.query_one("#save-group").value = "Mine"
        app.screen.query_one("#save-description").value = "Repeat buyers on mobile."
        await pilot.press("enter")
        await settle(pilot)
        files = list(segments.glob("*.sql"))
        assert len(files) == 1
        text = files[0].read_text()
        assert "-- name: [bold] mobile fans" in text and "-- group: Mine" in text
        assert "orders >= 4 AND main_device = 'mobile'" in text
        segment_list = app.query_one(SegmentList)
        assert segment_list.highlighted_segment.name == "[bold] mobile fans"
        assert app.extras.counts["[bold] mobile fans"] > 0
        assert app.query_one(DetailPane).selection.title == "[bold] mobile fans"
        # saving the same name again asks before overwriting
        await pilot.press("slash")
        bar = app.query_one(FilterBar)
        bar.input.value = "orders >= 5"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#save-name").value = "[bold] mobile fans"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert "orders >= 5" in files[0].read_text()
        assert len(list(segments.glob("*.sql"))) == 1


async def test_as_of_changes_header_and_counts(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        before = dict(app.extras.counts)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AsOfScreen)
        field = app.screen.query_one("#as-of-input")
        field.value = "not-a-date"
        await pilot.press("enter")
        assert isinstance(app.screen, AsOfScreen)
        assert "not a date" in static_text(app.screen, ".dialog-error")
        field.value = "2026-01-31"
        app.ready.clear()
        await pilot.press("enter")
        await wait_ready(pilot)
        assert app.ws.as_of == date(2026, 1, 31)
        assert "as of 2026-01-31" in plain(app.query_one(TopBar).content)
        assert dict(app.extras.counts) != before
        # a reload that fails (here a date the dialog would refuse) keeps the old workspace
        app._as_of_chosen(date(1990, 1, 1))
        await wait_for(pilot, lambda: any("before the first order" in m for m in app.messages))
        assert app.ws.as_of == date(2026, 1, 31)
        assert app.query_one("#body").current == "main"
        # r reopens the source at the same as-of date
        old = app.ws
        app.ready.clear()
        await pilot.press("r")
        await wait_ready(pilot)
        assert app.ws is not old and app.ws.as_of == date(2026, 1, 31)


async def test_as_of_dialog_shows_the_range_and_refuses_dates_outside_it(tui_shop):
    """The dialog says what the data covers and refuses a date before the first order or after
    the last activity in place, with the command line's message; no reload starts."""
    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        first, last = app.ws.data_range.first, app.ws.data_range.last
        assert last == date(2026, 6, 30) and first is not None and first < last
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AsOfScreen)
        assert f"The data runs from {first} to {last}" in static_text(app.screen, "#as-of-range")
        field = app.screen.query_one("#as-of-input")
        generation = app._generation
        for value, says in (
            ("2030-01-01", f"as-of 2030-01-01 is after the last activity ({last}); choose a date from {first} to {last}"),
            ("2026-07-01", "is after the last activity (2026-06-30)"),
            ("1990-01-01", f"as-of 1990-01-01 is before the first order ({first}); choose a date from {first} to {last}"),
        ):
            field.value = value
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, AsOfScreen)
            assert says in " ".join(static_text(app.screen, ".dialog-error").split())
        assert app._generation == generation and app.ws.as_of == date(2026, 6, 30)
        field.value = str(first)  # the first order's day is fine
        app.ready.clear()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AsOfScreen)
        await wait_ready(pilot)
        assert app.ws.as_of == first


async def test_palette_jumps_and_inserts(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Lapsed")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.query_one(SegmentList).highlighted_segment.name == "Lapsed"
        assert app.query_one(DetailPane).selection.title == "Lapsed"
        # a field goes into the filter bar
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"overdue_r")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        bar = app.query_one(FilterBar)
        assert bar.display and bar.input.value == "overdue_ratio"
        # with a filter applied, jumping to a segment says the filter gave way (and how to get it back)
        bar.input.value = "orders >= 3"
        await wait_for(pilot, lambda: bar.last_good is not None and bar.last_good.expr == "orders >= 3")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.applied is not None)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Inactive")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.query_one(DetailPane).selection.title == "Inactive"
        assert any("the filter orders >= 3 is cleared (/ brings it back)" in m for m in app.messages)


async def test_help_lists_every_key_then_q_quits(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = plain(app.screen.query_one("Static").content, width=140)
        for key in ("/", "enter", "escape", "e", "s", "a", "r", "ctrl+p", "?", "q", "E"):
            assert re.search(rf"^\s*{re.escape(key)}\s", body, re.MULTILINE) or f" {key} " in body, key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_q_quits_while_loading(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.query_one("#body").current == "loading"  # the first frame comes before the features
        await pilot.press("q")  # before the features are built
        await pilot.pause()
    assert not app.is_running


async def test_a_build_interrupted_by_quitting_is_not_logged_as_a_bug(tui_shop, monkeypatch):
    """q during a long build: DuckDB's interrupt of the running step is the quit, not an
    unexpected error for the log (it was written there, with a traceback)."""
    import duckdb

    from segtui.core.features.build import FeatureBuilder
    from segtui.locations import log_file

    started, ended = threading.Event(), threading.Event()

    def interrupted_build(*args, **kwargs):
        started.set()
        try:
            while not app._quitting:
                threading.Event().wait(0.01)
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
        finally:
            ended.set()

    monkeypatch.setattr(FeatureBuilder, "ensure", interrupted_build)
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, started.is_set)  # q during the build, not before it began (a loaded machine)
        await pilot.press("q")
    assert ended.wait(10)
    threading.Event().wait(0.3)  # the load thread's handler runs after the build returns
    assert not log_file().exists()


async def test_the_loading_bar_says_how_long_is_left(tui_shop, monkeypatch):
    """A build at a million customers takes 15-20 s: the bar shows the time left, estimated from
    its progress (the fractions follow the steps' measured costs, so the estimate holds)."""
    import segtui.core.workspace as W
    from textual.widgets._progress_bar import ETAStatus

    gate = threading.Event()
    real = W.open_workspace

    def slow(source, as_of, mapping, segments_dir, progress, **kwargs):
        progress("features: core", 0.1)
        threading.Event().wait(1.2)  # Textual estimates from samples at least a second apart
        progress("features: events", 0.2)  # 10% per 1.2 s: ~10 s left
        gate.wait(30)
        return real(source, as_of, mapping, segments_dir, progress, **kwargs)

    monkeypatch.setattr(W, "open_workspace", slow)
    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "events" in plain(app.query_one("#loading-step").content))
        await pilot.pause(0.3)
        eta = plain(app.query_one(ETAStatus).render())
        gate.set()
        await wait_ready(pilot)
    left = re.fullmatch(r"00:00:(\d\d)\s*", eta)  # "--:--:--" without an estimate
    assert left and 3 <= int(left.group(1)) <= 30, eta


async def test_nothing_is_focused_while_loading(tui_shop, monkeypatch):
    """The hidden filter input must not hold the focus (the footer showed its keys)."""
    import segtui.core.workspace as W

    gate = threading.Event()
    real = W.open_workspace

    def held(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(W, "open_workspace", held)
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#body").current == "loading" and app.focused is None
        await pilot.press("slash", "x", "enter")  # keys while loading do nothing
        assert not app.query_one(FilterBar).display
        gate.set()
        await wait_ready(pilot)
        assert isinstance(app.focused, SegmentList)


async def test_markup_in_names_is_literal(tui_shop, tmp_path):
    folder = tmp_path / "segs"
    folder.mkdir()
    (folder / "weird.sql").write_text("-- name: [bold]Weird[/bold] [red]\n-- group: [i]G\norders >= 2\n")
    app = make_app(tui_shop, segments_dir=folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        assert app.query_one(SegmentList).jump_to("[bold]Weird[/bold] [red]")
        await settle(pilot)
        assert "[bold]Weird[/bold] [red]" in plain(app.query_one("#detail-body").content)
        # the palette lists it literally too (its prompt and help are not markup)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Weird")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.query_one(SegmentList).highlighted_segment.name == "[bold]Weird[/bold] [red]"
        app.say("saved '[bold]x' to [red]")
        await pilot.pause()
        assert "[bold]x" in app.messages[-1]


async def test_source_change_is_noticed(tui_shop):
    import os

    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        app._poll_source()
        assert not any("changed on disk" in m for m in app.messages)
        stamp = os.stat(tui_shop).st_mtime + 5
        os.utime(tui_shop, (stamp, stamp))  # same bytes, newer mtime
        app._poll_source()
        app._poll_source()  # said once, not every poll
        assert sum("changed on disk: press r to refresh" in m for m in app.messages) == 1


async def test_failed_first_load_says_why(tmp_path):
    from conftest import make_duckdb

    shop = make_duckdb(tmp_path / "no_orders.duckdb", {"customers": "SELECT 1 AS customer_id"})
    app = make_app(shop, as_of=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "could not open" in static_text(app, "#loading-step"))
        await pilot.press("q")
    assert not app.is_running


async def test_a_fresh_build_is_stored_after_its_counts_are_shown(tui_shop, monkeypatch):
    """The copy into the cache (~2 s at a million customers) holds nothing up: the counts show
    while it runs, q quits at once, a workspace retired meanwhile stays open until its copy
    ends, and the entry then serves the next open."""
    import duckdb

    from segtui.core import cache

    started, release = threading.Event(), threading.Event()
    real = cache._write

    def held(*args, **kwargs):
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "_write", held)

    def is_open(ws) -> bool:
        try:
            ws.con.execute("SELECT count(*) FROM customer_features").fetchone()
            return True
        except duckdb.Error:
            return False

    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        assert started.is_set() and app.extras.counts.total > 0 and cache.entries() == []
        old = app.ws
        app.ready.clear()
        await pilot.press("r")  # reopen: the first workspace is retired while its copy waits
        await wait_ready(pilot)
        assert app.ws is not old and is_open(old)
        release.set()
        await wait_for(pilot, lambda: not is_open(old))
        await pilot.press("q")
    assert all(done.wait(30) for done in app.stores)
    assert [e.meta["kind"] for e in cache.entries()].count("features") == 1  # and the families
    steps: list[str] = []
    open_workspace(tui_shop, AS_OF, progress=lambda step, fraction: steps.append(step)).close()
    assert steps == ["features: from cache"]


def test_closing_waits_for_the_copy_into_the_cache_and_ctrl_c_skips_it(capsys):
    """After q, run_app lets a copy in progress finish (saying so on stderr); Ctrl-C there
    interrupts the copy and still waits for it to stop (the shop is closed after)."""
    from types import SimpleNamespace

    from segtui.tui.app import wait_for_stores

    copied = threading.Event()
    threading.Timer(0.3, copied.set).start()
    wait_for_stores(SimpleNamespace(stores=[copied], interrupt_stores=None))
    assert copied.is_set() and "saving the features to the cache" in capsys.readouterr().err

    class Copying(threading.Event):  # Ctrl-C arrives during the first wait
        waits: list = []

        def wait(self, timeout=None):
            self.waits.append(timeout)
            if len(self.waits) == 1:
                raise KeyboardInterrupt
            return super().wait(timeout)

    copying = Copying()
    interrupted = []

    def interrupt():
        interrupted.append(True)
        threading.Timer(0.2, copying.set).start()  # the interrupted copy stops a moment later

    wait_for_stores(SimpleNamespace(stores=[copying], interrupt_stores=interrupt))
    assert interrupted == [True] and copying.is_set() and Copying.waits[1] is not None
    capsys.readouterr()
    wait_for_stores(SimpleNamespace(stores=[copied], interrupt_stores=None))  # nothing pending
    assert capsys.readouterr().err == ""


async def test_why_a_segment_cannot_be_counted_is_shown_whole_at_80x24(tmp_path):
    """The members pane's status is one line for a page; a note (a segment this shop cannot
    count, and why) wraps instead of losing its end at 80 columns."""
    from conftest import make_duckdb

    orders = """SELECT * FROM (VALUES
      (1, 10, TIMESTAMP '2026-01-05 10:00:00', 20.0), (2, 10, TIMESTAMP '2026-02-04 12:30:00', 30.0),
      (3, 11, TIMESTAMP '2026-03-01 09:00:00', 15.5)) AS t(order_id, customer_id, ordered_at, total)"""
    shop = make_duckdb(tmp_path / "shop.duckdb", {"orders": orders})
    app = make_app(shop, as_of=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        segments = app.query_one(SegmentList)
        assert segments.highlighted_segment.name == "Best customers"  # needs orders.discount
        status = app.query_one("#preview-status")
        assert "unavailable for this shop: needs orders.discount" in " ".join(static_text(app, "#preview-status").split())
        assert status.size.height >= 2
        usable = next(i for i, s in enumerate(app.ws.catalog.compiled) if s.usable)
        for _ in range(usable):
            await pilot.press("down")
        await settle(pilot)
        assert segments.highlighted_segment.usable
        assert " of " in static_text(app, "#preview-status") and status.size.height == 1


async def test_the_header_ends_in_an_ellipsis_when_it_does_not_fit(tui_shop):
    """At 80 columns a long shop name, the build note or a filter must not be cut mid-word
    without a sign that something is missing."""
    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        top = app.query_one(TopBar)
        top.show("a-shop-with-a-long-name.duckdb", "2026-06-30", 100_000, "filter: orders >= 3 AND total_spent > 200")
        await pilot.pause()
        line = top.render_line(0).text.rstrip()
        assert line.endswith("…") and "a-shop-with-a-long-name.duckdb" in line
        await pilot.press("q")


async def test_enter_on_a_member_opens_their_story_and_escape_returns_to_the_row(tui_shop, engine):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        main = app.screen
        await wait_for(pilot, lambda: len(app.query_one(PreviewPane).rows) > 2)
        table = app.query_one(PreviewTable)
        table.focus()
        await pilot.press("down", "down")
        row = table.cursor_row
        ident = app.query_one(PreviewPane).rows[row][0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.story is not None)
        story = app.screen.story
        expected = engine.customer(engine.con, ident, limit=TIMELINE_PAGE)
        assert story.customer_id == ident
        assert [(m.kind, m.ref, m.at) for m in story.timeline] == [(m.kind, m.ref, m.at) for m in expected.timeline]
        assert story.segments == expected.segments
        assert f"Customer {ident}" in plain(app.screen.query_one("#customer-head").content)
        # the main view's keys are off (and out of the footer) while the story is in front
        assert app.check_action("open_filter", ()) is False
        await pilot.press("slash")
        assert not main.query_one(FilterBar).display
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main
        assert table.cursor_row == row and app.focused is table
        assert app.check_action("open_filter", ()) is True


async def test_a_heavy_customers_timeline_pages(tui_shop, engine):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: len(app.query_one(PreviewPane).rows) > 0)
        table = app.query_one(PreviewTable)
        table.focus()
        ident = app.query_one(PreviewPane).rows[0][0]  # the biggest spender of the first segment
        total = engine.customer(engine.con, ident, limit=1).timeline_total
        assert total > TIMELINE_PAGE, "the test needs a customer with more than one page"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.story is not None)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.screen.story.offset == TIMELINE_PAGE)
        assert plain(app.screen.query_one("#customer-timeline-status").content).startswith(f"{TIMELINE_PAGE + 1}–")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.screen.story.offset == 0)


async def test_a_timeline_note_too_long_for_the_screen_ends_in_an_ellipsis(tui_shop):
    """At 80 columns a review's text or a line's product is cut with "…", not at a letter; at
    160 columns the same rows show more of it."""
    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: len(app.query_one(PreviewPane).rows) > 0)
        app.query_one(PreviewTable).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.story is not None)
        await settle(pilot, rounds=1)

        def lines():
            table = app.screen.query_one("#customer-timeline-table")
            return [table.render_line(y).text.rstrip() for y in range(1, table.size.height)]

        # the table measures its new rows on idle: read it once the dates are whole
        await wait_for(pilot, lambda: lines() and lines()[0].startswith(" 20") and lines()[0][17] == " ")
        narrow = lines()
        assert any(line.endswith("…") for line in narrow), narrow
        await pilot.resize_terminal(160, 45)
        await wait_for(pilot, lambda: sum(map(len, lines()[: len(narrow)])) > sum(map(len, narrow)))


async def test_the_story_of_a_customer_in_a_shop_of_orders_alone(tmp_path):
    from conftest import TINY_ORDERS, make_duckdb

    shop = make_duckdb(tmp_path / "orders.duckdb", {"orders": TINY_ORDERS})
    app = make_app(shop, as_of=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        app.query_one(SegmentList).jump_to(max(app.extras.counts, key=lambda name: app.extras.counts[name]))
        await wait_for(pilot, lambda: len(app.query_one(PreviewPane).rows) > 0)
        app.query_one(PreviewTable).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen) and app.screen.story is not None)
        story = app.screen.story
        assert {m.kind for m in story.timeline} == {"order"}
        assert plain(app.screen.query_one("#customer-timeline-status").content).startswith("1–")


async def test_the_sidebar_follows_every_resize(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        widths = []
        for size in ((80, 24), (160, 45), (81, 24), (110, 36), (120, 36)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            widths.append(app.query_one(SegmentList).outer_size.width)
        assert widths == [36, 54, 36, 42, 54]  # from 120 columns room for the sparklines


async def test_a_filter_matching_no_one_reads_cleanly(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        await pilot.press("slash", *"orders > 100000")
        await wait_for(pilot, lambda: app.query_one(FilterBar).last_good is not None)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one(DetailPane).profile is not None
                       and app.query_one(DetailPane).profile.customers == 0)
        text = static_text(app, "#detail-body")
        assert "no customers of" in text and "match" in text
        assert not re.search(r"·\s*$", text, re.MULTILINE), text  # no dangling separator


async def test_export_writes_what_is_shown_in_the_order_shown(tui_shop, tmp_path):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: len(app.query_one(PreviewPane).rows) > 5)
        preview = app.query_one(PreviewPane)
        app.query_one(PreviewTable).focus()
        await pilot.press("o")  # sort by another column than the default
        await wait_for(pilot, lambda: preview.sort != "total_spent" and len(preview.rows) > 5)
        # every column of the members view, in its order: those in the table, then those the
        # pane is too narrow for (z brings them in)
        shown = [preview.columns[i] for i in shown_order(preview.columns, preview.sort)]
        in_table = [str(c.key.value) for c in app.query_one(PreviewTable).ordered_columns]
        assert shown[: len(in_table)] == in_table and len(in_table) + preview.hidden == len(shown)
        first_ids = [row[0] for row in preview.rows[:5]]
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        expected = shown[:1] + ["email", "first_name", "last_name", "phone"] + shown[1:]
        assert app.screen.query_one("#export-columns").value == ", ".join(expected)
        target = tmp_path / "shown.csv"
        app.screen.query_one("#export-path").value = str(target)
        app.screen.query_one("#export-path").focus()
        await pilot.press("enter")
        await settle(pilot)
        lines = target.read_text().splitlines()
        assert lines[0] == ",".join(expected)
        assert [int(line.split(",")[0]) for line in lines[1:6]] == first_ids


async def test_a_value_in_another_case_is_pointed_out_when_nobody_matches(tui_shop):
    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await pilot.press("slash", *"main_os = 'ios'")
        bar = app.query_one(FilterBar)
        await wait_for(pilot, lambda: bar.last_good is not None and bar.last_good.expr == "main_os = 'ios'")
        status = static_text(app, "#filter-status")
        assert status.startswith("0 customers")
        assert re.search(r"no customer has main_os 'ios'; [\d,]+ have 'iOS'", status), status


async def test_a_full_loading_bar_shows_no_time_left(tui_shop, monkeypatch):
    import segtui.core.workspace as W
    from textual.widgets._progress_bar import ETAStatus

    gate = threading.Event()
    real = W.open_workspace

    def done_building(source, as_of, mapping, segments_dir, progress, **kwargs):
        progress("counting segments", 1.0)
        gate.wait(30)
        return real(source, as_of, mapping, segments_dir, progress, **kwargs)

    monkeypatch.setattr(W, "open_workspace", done_building)
    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "counting" in plain(app.query_one("#loading-step").content))
        hidden = not app.query_one(ETAStatus).display
        gate.set()
        await wait_ready(pilot)
    assert hidden, "a full bar still shows an ETA (--:--:--)"


async def test_the_profile_shows_who_nearly_qualifies(tui_shop, engine):
    from segtui.core.compare import near_misses

    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        app.query_one(SegmentList).jump_to("Best customers")
        detail = app.query_one(DetailPane)
        await wait_for(pilot, lambda: detail.selection is not None and detail.selection.title == "Best customers"
                       and len(detail.near) == 3)
        compiled = engine.segment("Best customers")
        expected = near_misses(engine.con, compiled.segment.where, compiled.sql)
        assert [(m.condition, m.count) for m in detail.near] == [(m.condition, m.count) for m in expected]
        text = static_text(app, "#detail-body")
        for miss in expected:
            assert f"{miss.count:,} but for {miss.condition}" in text


async def test_a_predictive_segment_says_how_far_to_trust_it(tui_shop, engine):
    """Its profile shows the fit its fields come from and the same method fitted 90 days
    earlier against what happened since; a segment that reads no prediction shows neither."""
    from segtui.core import predict as P

    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        detail = app.query_one(DetailPane)
        assert "Prediction:" not in static_text(app, "#detail-body")
        app.query_one(SegmentList).jump_to("Most valuable next year")
        await wait_for(pilot, lambda: detail.model is not None and detail.profile is not None)
        check = P.model_check(engine.con, AS_OF)
        body = " ".join(static_text(app, "#detail-body").split())
        assert "Prediction: BG/NBD purchases, Gamma-Gamma spend" in body
        assert f"fitted as of {AS_OF} to {check.fit.customers:,} buyers" in body
        assert f"{check.check.holdout.actual:,} happened" in body
        assert detail.profile.customers == engine.count("clv_percentile >= 90") > 0
        app.query_one(SegmentList).jump_to("Best customers")
        await wait_for(pilot, lambda: detail.selection.title == "Best customers" and detail.profile is not None)
        assert detail.model is None and "Prediction:" not in static_text(app, "#detail-body")


async def test_marked_segments_show_their_overlap(tui_shop, engine):
    """space marks the highlighted segment (● in the list); two marked, the profile opens with
    who is in exactly which of them and the pair's Jaccard, as `segtui overlap` counts them;
    unmarking one leaves the note to mark another."""
    from segtui.core.compare import overlap

    app = make_app(tui_shop)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        segments = app.query_one(SegmentList)
        first = segments.highlighted_segment
        await pilot.press("space")
        await settle(pilot, rounds=1)
        assert segments.marked == [first.name]
        assert "mark another with space" in static_text(app, "#detail-body")
        await pilot.press("down", "down", "space")
        second = segments.highlighted_segment
        detail = app.query_one(DetailPane)
        await wait_for(pilot, lambda: detail.overlap is not None)
        expected = overlap(engine.con, AS_OF, [(c.name, c.sql) for c in engine.catalog.usable
                                                if c.name in (first.name, second.name)])
        assert detail.overlap.regions == expected.regions and detail.overlap.union == expected.union
        body = " ".join(static_text(app, "#detail-body").split())
        assert f"Marked: 2 segments · {expected.union:,} customers in at least one" in body
        assert f"Jaccard {first.name} ∩ {second.name}" in body and f"{expected.pairs[0][3]:.3f}" in body
        assert plain(segments.get_option(f"segment:{first.name.casefold()}").prompt).startswith("●")
        await pilot.press("space")  # unmark the second
        await settle(pilot, rounds=1)
        assert segments.marked == [first.name] and detail.overlap is None
        assert "mark another with space" in static_text(app, "#detail-body")


async def test_messages_that_arrive_after_the_explorer_closed_are_dropped(tui_shop):
    """A page request, a live count, a worker's result or a loaded workspace may land after the
    main view's widgets went (seen: NoMatches for PreviewPane and FilterBar at exit): each is
    dropped, and a workspace that arrives then is closed."""
    from segtui.tui.messages import WorkDone, WorkspaceLoaded

    app = make_app(tui_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        ws = app.ws
    late = [
        lambda: app._page_wanted(PreviewPane.PageWanted(0, "customer_id", False)),
        lambda: app._customer_wanted(PreviewPane.CustomerWanted(1)),
        lambda: app._select_highlighted(),
        lambda: app._filter_closed(),
        lambda: app.on_work_done(WorkDone("live", 0, error="late")),
        lambda: app.on_work_done(WorkDone("preview", 0, error="late")),
    ]
    for call in late:
        call()  # before the guard, each raised NoMatches here
    arrived = open_workspace(tui_shop, AS_OF, fields=set())
    app.on_workspace_loaded(WorkspaceLoaded(app._generation, arrived, app.extras))
    for _ in range(100):  # closed in a thread of its own
        try:
            arrived.con.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - closed: what we wait for
            break
        threading.Event().wait(0.05)
    else:
        raise AssertionError("a workspace that arrived after the exit was left open")
    assert app.ws is ws  # not shown


@pytest.mark.parametrize("small", [True, False])
async def test_segment_history_starts_beside_or_after_the_first_copy_into_the_cache(tui_shop, monkeypatch, small):
    """A shop built in one pass starts its history with the first counts, handing it the full
    table: the pass runs before the last build stage, which reads the table the pass wrote to
    the cache instead of building it; the history's counts come once the last stage is in. A
    small shop's copy into the cache waits for the history (it starts when the history is
    complete); a big shop's (here: any shop above a threshold of 0) history goes on once the
    copy is done, when the build's tables are let go, on one connection."""
    from segtui.core.features import lift
    from segtui.tui import app as app_module

    if not small:
        monkeypatch.setattr(app_module, "HISTORY_HELPER_CUSTOMERS", 0)
    app = make_app(tui_shop, history=True)
    calls = []  # (go, every stage in, the copy done, copies started) at each call
    start = app._start_history

    def starting(go=True, full=None):  # the copy is done once handed over (no pending store) and no copy runs
        calls.append((go, app.built.is_set(), app.ws.pending_store is None and all(done.is_set() for done in app.stores),
                      len(app.stores), full is not None))
        return start(go, full)

    app._start_history = starting
    built_when_building = []
    build = lift.build_at_dates

    def building(planned, *rest):
        built_when_building.append(app.built.is_set())
        return build(planned, *rest)

    monkeypatch.setattr(lift, "build_at_dates", building)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: app.history is not None and app.history.complete, timeout=120)
        assert app._history_run.helper is small and app._history_run.one_pass
        readied, went = [c for c in calls if not c[0]], [c for c in calls if c[0]]
        assert readied and not readied[0][1] and readied[0][4]  # with the first counts, before the last stage
        assert went and went[0][1] and went[0][2] is (not small)
        assert built_when_building == [False]  # one pass, before the last stage
        assert app.ws.features.rows_sorted  # the last stage read the pass's table from the cache
        if small:  # the copy waited for the history, and started when it was complete
            assert went[0][3] == 0 and app.ws.pending_store is None
        await wait_for(pilot, lambda: app.ws.pending_store is None and all(done.is_set() for done in app.stores))


@pytest.mark.parametrize("way", ["refused", "failed"])
async def test_a_first_open_builds_its_stages_when_the_history_cannot_make_its_table(tui_shop, monkeypatch, way):
    """When the history's pass cannot give the full table (its rewrite refused, or its build
    failing), the explorer builds its later stages itself: every count is what a whole build
    counts, and the history still completes, date by date."""
    import duckdb

    from segtui.core.features import lift

    if way == "refused":
        def refuse(*args, **kwargs):
            raise lift.LiftError("not this one")

        monkeypatch.setattr(lift, "plan_beside", refuse)
    else:
        def failing(planned, *rest):
            raise duckdb.IOException("the disk went away")

        monkeypatch.setattr(lift, "build_at_dates", failing)
    whole = open_workspace(tui_shop, AS_OF, use_cache=False)
    try:
        expected = whole.count_all()
    finally:
        whole.close()
    app = make_app(tui_shop, history=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        assert not app.ws.features.rows_sorted  # built here, not read from the cache
        assert dict(app.extras.counts) == dict(expected) and app.extras.counts.total == expected.total
        await wait_for(pilot, lambda: app.history is not None and app.history.complete, timeout=120)
        assert app.history.dates[-1] == AS_OF and len(app.history.dates) == 12


async def test_a_copy_held_back_for_the_segment_history_is_made_on_quit(tui_shop, monkeypatch):
    """Quitting while the history still counts starts the copy into the cache it held back:
    the next open finds the features in the cache."""
    from segtui.core import cache, timeline

    def stored() -> list:
        return [e for e in cache.entries() if e.meta.get("kind") == "features"]

    def endless(ws, dates, *args, stopped=None, full=None, **kwargs):  # counts until told to stop
        if full is not None:
            full.resolve(False)  # no pass: the explorer builds its stages
        while not stopped.wait(0.05):
            pass
        yield from ()

    monkeypatch.setattr(timeline, "history", endless)
    app = make_app(tui_shop, history=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await settle(pilot)
        assert app.ws.pending_store is not None and not app.stores and not stored()  # held back
        await pilot.press("q")
    assert app.stores
    for done in app.stores:
        assert done.wait(60)
    assert stored()


async def test_segment_history_readied_beside_the_build_stops_when_a_stage_fails(tui_shop, monkeypatch):
    """When a later build stage fails, the explorer says so and stops the history it readied
    with the first counts (which would otherwise wait for a last stage that never comes)."""
    from segtui.tui import app as app_module

    app = make_app(tui_shop, history=True)
    runs = []
    start = app._start_history

    def starting(go=True, full=None):
        handed = start(go, full)
        runs.append(app._history_run)
        return handed

    app._start_history = starting
    calls = []
    precompute = app_module.precompute

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk went away")
        return precompute(*args, **kwargs)

    monkeypatch.setattr(app_module, "precompute", failing)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: any("building the features failed" in m for m in app.messages))
        assert runs and runs[0] is not None and not runs[0].go.is_set()
        assert app._history_run is None and runs[0].stopped.is_set()
        await wait_for(pilot, lambda: not runs[0]._thread.is_alive())


async def test_segment_history_sparklines_trend_and_transitions(tui_shop):
    """After the first counts, every segment's last 12 month ends are counted in the background:
    the wide list shows a sparkline per segment, the profile the trend and who entered and left
    since the previous month end (what the engine's trend and diff say); t opens the transitions
    of the highlighted segment's group, whose margins are the counts at both dates."""
    from segtui.core import timeline
    from segtui.tui.screens.transitions import TransitionsScreen

    app = make_app(tui_shop, history=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        await wait_for(pilot, lambda: app.history is not None and app.history.complete, timeout=120)
        await settle(pilot)
        history = app.history
        assert len(history.dates) == 12 and history.dates[-1] == AS_OF
        assert app._history_run.helper  # a small shop: a third connection counted dates alongside
        segment_list = app.query_one(SegmentList)
        name = segment_list.highlighted_segment.name
        row = segment_list.get_option_at_index(segment_list.highlighted).prompt
        console = Console(width=60, record=True)
        console.print(row)
        assert re.search(r"[▁▂▃▄▅▆▇█]{12}", console.export_text()), console.export_text()
        text = plain(app.query_one("#detail-body").content, width=100)
        change = history.changes[name]
        assert "Last 12 month ends" in text and f"+{change.entered:,} entered" in text, text

        ws = open_workspace(tui_shop, as_of=AS_OF, fields=None)
        try:
            sql = str(ws.segment(name).sql)
            assert list(history.counts[name]) == [p.count for p in timeline.trend(ws, sql, list(history.dates))]
            assert change == timeline.diff(ws, sql, history.dates[-2], history.dates[-1])
        finally:
            ws.close()

        while segment_list.highlighted_segment.segment.group != "RFM":
            await pilot.press("down")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TransitionsScreen) and app.screen.result is not None)
        screen = app.screen
        result = screen.result
        assert (result.start, result.end) == (history.dates[-2], AS_OF)
        for segment in result.columns[:-1]:
            assert result.row_total(segment) == history.counts[segment][-2], segment
            assert result.column_total(segment) == history.counts[segment][-1], segment
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: screen.result is not None and screen.result.start == history.dates[-3])
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, TransitionsScreen)

