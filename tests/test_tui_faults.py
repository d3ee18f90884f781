"""The explorer under faults: a source that disappears or changes while the app is open, an export
that fails, a worker that raises. Each time the app shows a one-line error (a notification or an
inline message), stays usable (keys still work, q still quits), writes the details of anything
unexpected to the log file in the user cache folder (and shows that path), and never exits with a
traceback over the screen.

The shops are small (300 customers) and copied per test, since these tests damage them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from conftest import csv_copy, small_tmpfs
from tui_fixtures import make_app, settle, wait_for, wait_ready

from segtui.locations import log_file
from segtui.tui.screens.export import ExportScreen
from segtui.tui.widgets.detail import DetailPane
from segtui.tui.widgets.filter_bar import FilterBar
from segtui.tui.widgets.preview import PreviewPane
from segtui.tui.widgets.segment_list import SegmentList
from segtui.tui.widgets.top_bar import TopBar


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    """A generated DuckDB shop, the same shop as a CSV folder, and a smaller other shop."""
    from segtui.core.generate import generate

    root = tmp_path_factory.mktemp("faults")
    db = root / "shop.duckdb"
    generate(db, customers=300, seed=5)
    other = root / "other.duckdb"
    generate(other, customers=120, seed=9)
    folder = csv_copy(db, root / "csv")
    return {"duckdb": db, "other": other, "csv": folder}


@pytest.fixture
def csv_shop(templates, tmp_path) -> Path:
    folder = tmp_path / "exports"
    shutil.copytree(templates["csv"], folder)
    return folder


@pytest.fixture
def db_shop(templates, tmp_path) -> Path:
    path = tmp_path / "shop" / "shop.duckdb"
    path.parent.mkdir()
    shutil.copy2(templates["duckdb"], path)
    return path


def plain(renderable, width: int = 100) -> str:
    console = Console(width=width, record=True, file=open(os.devnull, "w"), color_system=None)
    console.print(renderable)
    return console.export_text()


def static_text(node, selector: str) -> str:
    return plain(node.query_one(selector).content)


def raw_text(node, selector: str) -> str:
    """A Static's text as set, before the screen wraps it."""
    content = node.query_one(selector).content
    return getattr(content, "plain", str(content))


def alive(app) -> None:
    """Running, and no unhandled exception (which Textual would print as a traceback on exit)."""
    assert app.is_running
    assert app._exception is None
    assert app.return_code is None


def watched(shop: Path, **kwargs):
    """make_app, with every notification recorded as (severity, message): Textual's own list
    forgets a notification when it times out, which a slow test run would see as flakiness."""
    app = make_app(shop, **kwargs)
    app.notified = []
    notify = app.notify

    def recording(message, *args, **kw):
        app.notified.append((kw.get("severity", "information"), str(message)))
        return notify(message, *args, **kw)

    app.notify = recording
    return app


def errors(app) -> list[str]:
    """The text of every error notification shown so far."""
    return [message for severity, message in app.notified if severity == "error"]


def one_line(text: str) -> str:
    assert "\n" not in text.strip(), text
    assert "Traceback" not in text
    return text


async def still_usable(app, pilot) -> None:
    """Navigation shows another segment and a profile; the filter bar counts."""
    alive(app)
    segment_list = app.query_one(SegmentList)
    segment_list.focus()
    before = segment_list.highlighted_segment
    await pilot.press("down")
    await settle(pilot)
    after = segment_list.highlighted_segment
    assert after is not before
    detail = app.query_one(DetailPane)
    assert detail.selection.title == after.name
    assert detail.state == "ready" and detail.profile is not None, detail.message
    await pilot.press("slash")
    app.query_one(FilterBar).input.value = "orders >= 2"
    await settle(pilot)
    assert " customers · " in static_text(app, "#filter-status")
    await pilot.press("escape")
    alive(app)


async def refresh_fails(app, pilot, contains: str) -> str:
    """Press r on a broken source: the error is told in one line and the old view comes back."""
    old = app.ws
    count = len(errors(app))
    await pilot.press("r")
    await wait_for(pilot, lambda: len(errors(app)) > count and app.query_one("#body").current == "main")
    said = one_line(errors(app)[-1])
    assert contains in said, said
    assert app.ws is old
    return said


# --- a source that disappears or changes while the app is open -----------------------------

async def test_csv_file_deleted_while_open(csv_shop):
    app = watched(csv_shop)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        total = app.extras.counts.total
        (csv_shop / "orders.csv").unlink()
        app._poll_source()  # the file list changed: the newest mtime is another file's now
        await refresh_fails(app, pilot, "no 'orders' table")
        assert app.extras.counts.total == total
        assert f"{total:,} customers" in plain(app.query_one(TopBar).content)
        await still_usable(app, pilot)
        # a filter applied with enter still works on the features already built
        await pilot.press("slash")
        app.query_one(FilterBar).input.value = "orders >= 3"
        await pilot.press("enter")
        await settle(pilot)
        assert app.applied is not None and app.query_one(DetailPane).profile is not None
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running and app._exception is None


GARBAGE = {
    "binary": b"\x00\x01\xff\xfe binary \x00 junk" * 200,
    "other columns": b"hello;world\nthis is;not orders\n",
    "empty": b"",
}


async def test_csv_file_rewritten_with_garbage_while_open(csv_shop):
    app = watched(csv_shop)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        orders = csv_shop / "orders.csv"
        for step, (kind, garbage) in enumerate(GARBAGE.items(), start=1):
            count = len(app.messages)
            orders.write_bytes(garbage)
            later = orders.stat().st_mtime + 5 * step
            os.utime(orders, (later, later))
            app._poll_source()
            assert any("changed on disk: press r to refresh" in m for m in app.messages[count:]), kind
            said = await refresh_fails(app, pilot, "orders")
            assert "unexpected error" not in said, kind  # a data problem, told as such, not a crash
            await still_usable(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running and app._exception is None


async def test_duckdb_file_replaced_while_open(db_shop, templates):
    app = watched(db_shop, as_of=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        assert app.extras.counts.total == 300
        # another program writes a new version next to it and renames it over the old one
        fresh = db_shop.with_name("incoming.duckdb")
        shutil.copyfile(templates["other"], fresh)
        later = db_shop.stat().st_mtime + 5
        os.utime(fresh, (later, later))
        os.replace(fresh, db_shop)
        app._poll_source()
        assert any("changed on disk: press r to refresh" in m for m in app.messages)
        alive(app)
        await still_usable(app, pilot)  # the old data is still served until r
        old = app.ws
        app.ready.clear()
        await pilot.press("r")
        await wait_ready(pilot)
        await wait_for(pilot, lambda: app.ws is not old)
        assert app.extras.counts.total == 120
        assert "120 customers" in plain(app.query_one(TopBar).content)
        await still_usable(app, pilot)
        # then replaced by something that is not a database at all
        junk = db_shop.with_name("junk.tmp")
        junk.write_text("name,value\n" * 500)
        os.replace(junk, db_shop)
        await refresh_fails(app, pilot, "not a DuckDB database")
        assert app.extras.counts.total == 120
        await still_usable(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running and app._exception is None


async def test_duckdb_file_deleted_while_open(db_shop):
    app = watched(db_shop)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        db_shop.unlink()
        app._poll_source()  # nothing to stat: no "changed" message, and no crash either
        alive(app)
        await refresh_fails(app, pilot, "no such file or folder")
        await still_usable(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running and app._exception is None


# --- exports that fail ------------------------------------------------------------------------

async def open_export(app, pilot, path: Path) -> None:
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(app.screen, ExportScreen)
    field = app.screen.query_one("#export-path")
    field.value = str(path)
    field.focus()
    await pilot.press("enter")
    await pilot.pause()


async def test_export_refusals_are_inline_then_a_good_path_works(db_shop, tmp_path):
    app = watched(db_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        # a folder that does not exist: refused in the dialog, which stays open
        await open_export(app, pilot, tmp_path / "no" / "such" / "members.csv")
        assert isinstance(app.screen, ExportScreen)
        said = one_line(raw_text(app.screen, ".dialog-error"))
        assert "does not exist" in said
        # an existing file without overwrite: refused, the file untouched
        existing = tmp_path / "keep.csv"
        existing.write_text("precious\n")
        field = app.screen.query_one("#export-path")
        field.value = str(existing)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        said = one_line(raw_text(app.screen, ".dialog-error"))
        assert "already exists" in said and "tick 'overwrite'" in said
        assert existing.read_text() == "precious\n"
        # an unknown format
        field.value = str(tmp_path / "members.xlsx")
        await pilot.press("enter")
        await pilot.pause()
        assert "cannot tell the format" in one_line(raw_text(app.screen, ".dialog-error"))
        # a good path, in the same dialog
        good = tmp_path / "members.csv"
        field.value = str(good)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        assert good.exists() and good.read_text().startswith("customer_id,")
        assert any(m.startswith("wrote ") and str(good) in m for m in app.messages)
        assert not errors(app)
        await still_usable(app, pilot)
    assert app._exception is None


async def test_export_failing_in_the_worker(db_shop, tmp_path, monkeypatch):
    """The folder vanishes between the dialog's check and the write (a USB stick pulled out)."""
    import segtui.core.workspace as engine  # the engine the explorer asks to export

    real_export = engine.export_members
    target_folder = tmp_path / "stick"
    target_folder.mkdir()

    def export_after_unplug(con, where_sql, path, *args, **kwargs):
        shutil.rmtree(target_folder, ignore_errors=True)
        return real_export(con, where_sql, path, *args, **kwargs)

    monkeypatch.setattr(engine, "export_members", export_after_unplug)
    app = watched(db_shop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        await open_export(app, pilot, target_folder / "members.csv")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        failures = errors(app)
        assert len(failures) == 1 and "does not exist" in one_line(failures[0]), failures
        assert not target_folder.exists()
        monkeypatch.setattr(engine, "export_members", real_export)
        await still_usable(app, pilot)
        good = tmp_path / "second.csv"
        await open_export(app, pilot, good)
        await settle(pilot)
        assert good.exists()
        assert any(m.startswith("wrote ") for m in app.messages)
    assert app._exception is None


async def test_export_disk_full(db_shop, tmp_path):
    """COPY itself fails (no space left): one error line, no partial or temp file left."""
    with small_tmpfs(tmp_path / "small", "16k") as small:
        app = watched(db_shop)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot)
            await pilot.press("slash")
            app.query_one(FilterBar).input.value = "orders >= 0"  # everyone, every feature
            await pilot.press("enter")
            await settle(pilot)
            await open_export(app, pilot, small / "all.csv")
            await settle(pilot)
            failures = errors(app)
            assert len(failures) == 1 and "could not write" in one_line(failures[0]), failures
            assert list(small.iterdir()) == []
            await still_usable(app, pilot)
        assert app._exception is None


# --- a worker that raises ---------------------------------------------------------------------

def boom(*args, **kwargs):
    raise RuntimeError("boom")


def logged() -> str:
    path = log_file()
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def test_profile_worker_error_is_logged_shown_and_survived(db_shop, monkeypatch):
    from segtui.core.workspace import Workspace

    app = watched(db_shop)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        assert logged() == ""
        monkeypatch.setattr(Workspace, "profile", boom)
        await pilot.press("down")
        await settle(pilot)
        alive(app)
        path = str(log_file())
        detail = app.query_one(DetailPane)
        assert detail.state == "error" and path in detail.message and "RuntimeError" in detail.message
        failures = errors(app)
        assert len(failures) == 1 and path in one_line(failures[0]), failures
        text = logged()
        assert "Traceback" in text and "RuntimeError: boom" in text and "profile worker" in text
        # the same fault again is shown in the pane, but not notified a second time
        await pilot.press("down")
        await settle(pilot)
        assert detail.state == "error" and len(errors(app)) == 1
        # the fault goes away: everything works again
        monkeypatch.undo()
        await still_usable(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running and app._exception is None


async def test_count_worker_error_in_filter_and_preview(db_shop, monkeypatch):
    from segtui.core.workspace import Workspace

    app = watched(db_shop)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        monkeypatch.setattr(Workspace, "count_where", boom)
        path = str(log_file())
        # the live count (filter bar) fails: inline, one line, with the log's path
        await pilot.press("slash")
        app.query_one(FilterBar).input.value = "orders >= 2"
        await settle(pilot)
        status = static_text(app, "#filter-status")
        assert "unexpected error (RuntimeError)" in status and "details in" in status
        assert any(path in m for m in errors(app))
        # enter on a filter that cannot be counted keeps the bar open, nothing applied
        await pilot.press("enter")
        await settle(pilot)
        assert app.applied is None and app.query_one(FilterBar).display
        await pilot.press("escape")
        # the member preview (which counts too) fails inline
        await pilot.press("down")
        await settle(pilot)
        assert "unexpected error (RuntimeError)" in static_text(app, "#preview-status")
        assert "RuntimeError: boom" in logged()
        alive(app)
        monkeypatch.undo()
        await still_usable(app, pilot)
        assert app.query_one(PreviewPane).member_count is not None
    assert app._exception is None


async def test_load_worker_error_on_refresh(db_shop, monkeypatch):
    """A bug while counting segments after a refresh: the old view stays, the log has it."""
    import segtui.tui.app as app_module

    app = watched(db_shop)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        monkeypatch.setattr(app_module, "precompute", boom)
        said = await refresh_fails(app, pilot, "unexpected error (RuntimeError)")
        assert str(log_file()) in said
        assert "RuntimeError: boom" in logged() and "counting segments" in logged()
        monkeypatch.undo()
        await still_usable(app, pilot)
        old = app.ws
        app.ready.clear()
        await pilot.press("r")
        await wait_ready(pilot)
        assert app.ws is not old
    assert app._exception is None


async def test_export_and_save_worker_errors(db_shop, tmp_path, monkeypatch):
    import segtui.tui.app as app_module
    from segtui.tui.screens.save import SaveScreen

    segments = tmp_path / "segs"
    segments.mkdir()
    app = watched(db_shop, segments_dir=segments)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        monkeypatch.setattr("segtui.core.workspace.export_members", boom)  # the engine the explorer asks
        monkeypatch.setattr(app_module, "save_segment", boom)
        target = tmp_path / "members.csv"
        await open_export(app, pilot, target)
        await settle(pilot)
        path = str(log_file())
        assert any("unexpected error (RuntimeError)" in m and path in m for m in errors(app)), errors(app)
        assert not target.exists()
        await pilot.press("slash")
        app.query_one(FilterBar).input.value = "orders >= 2"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        app.screen.query_one("#save-name").value = "Repeaters"
        await pilot.press("enter")
        await settle(pilot)
        assert len([m for m in errors(app) if path in m]) == 2, errors(app)
        assert list(segments.iterdir()) == []
        assert logged().count("RuntimeError: boom") == 2
        monkeypatch.undo()
        await still_usable(app, pilot)
    assert app._exception is None


async def test_locked_shop_opens_as_a_snapshot(db_shop):
    """`segtui open --snapshot`: a shop held open for writing by another program still loads."""
    import sys

    shop = db_shop
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(shop)!r}); print('ok', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        from segtui.tui.app import SegtuiApp
        from tui_fixtures import AS_OF

        app = SegtuiApp(shop, as_of=AS_OF, snapshot=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_ready(pilot)
            assert app.ws is not None and app.ws.total() == 300
        app.ws.close()  # run_app does this for the real app; it removes the snapshot copy
    finally:
        holder.kill()
        holder.wait()
