"""segtui never writes to a shop: the sha256 of every source file is the same before and after
each CLI command and each explorer flow, and no file appears beside the user's data (no DuckDB
.wal or .tmp, no cache, no log), for a DuckDB file with a mapping and for CSV and Parquet folders.

The three shops are made once per module from one generated shop and copied per test, so that
each test checks its own bytes. CLI commands run in-process through ``segtui.cli.main`` (the
same code as the console script, minus the interpreter start); one test per source kind goes
through a real subprocess, so that whatever DuckDB does when a process exits is covered too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from tui_fixtures import AS_OF, make_app, settle, wait_for, wait_ready

from conftest import csv_copy, run_cli, tree_digest

KINDS = ("duckdb", "csv", "parquet")

MAPPING = """\
# the export names things its own way; segtui.toml maps them
[tables.orders]
from = "sales"
customer_id = "cust"
total = "amount"
"""


@pytest.fixture(scope="module")
def shop_templates(tmp_path_factory) -> dict[str, Path]:
    """{kind: the folder holding that shop}, built once from one generated shop."""
    from segtui.core.generate import export_parquet_folder, generate

    root = tmp_path_factory.mktemp("readonly")
    generated = root / "generated.duckdb"
    generate(generated, customers=300, seed=5)

    # DuckDB with a mapping: orders renamed to sales, two columns renamed, segtui.toml beside it
    db_folder = root / "duckdb"
    db_folder.mkdir()
    shutil.copy2(generated, db_folder / "shop.duckdb")
    con = duckdb.connect(str(db_folder / "shop.duckdb"))
    try:
        con.execute("ALTER TABLE orders RENAME TO sales")
        con.execute("ALTER TABLE sales RENAME COLUMN customer_id TO cust")
        con.execute("ALTER TABLE sales RENAME COLUMN total TO amount")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    (db_folder / "segtui.toml").write_text(MAPPING, encoding="utf-8")
    assert not (db_folder / "shop.duckdb.wal").exists()

    export_parquet_folder(generated, root / "parquet")
    csv_folder = csv_copy(generated, root / "csv")
    return {"duckdb": db_folder, "csv": csv_folder, "parquet": root / "parquet"}


def source_of(kind: str, folder: Path) -> Path:
    """What the user passes to segtui: the .duckdb file, or the folder itself."""
    return folder / "shop.duckdb" if kind == "duckdb" else folder


@pytest.fixture
def shop(request, shop_templates, tmp_path) -> tuple[str, Path, Path]:
    """(kind, source, folder) of a private copy of the kind's shop."""
    kind = request.param
    folder = tmp_path / f"shop-{kind}"
    shutil.copytree(shop_templates[kind], folder)
    return kind, source_of(kind, folder), folder


def listing(folder: Path) -> set[str]:
    """Every entry under folder, hidden ones and empty folders included."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


class Untouched:
    """Record the shop folder's digest and listing; ``check()`` asserts nothing changed, except
    the files named in ``allowed_new`` (which must then exist)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.digest = tree_digest(folder)
        self.names = listing(folder)
        assert self.digest, "the shop folder is empty"

    def check(self, allowed_new: tuple[str, ...] = ()) -> None:
        now = listing(self.folder)
        assert now - self.names == set(allowed_new), f"new files in the shop folder: {sorted(now - self.names)}"
        assert self.names <= now, f"files vanished from the shop folder: {sorted(self.names - now)}"
        digest = tree_digest(self.folder)
        for name in allowed_new:
            digest.pop(str(self.folder / name))
        changed = sorted(p for p in self.digest if digest.get(p) != self.digest[p])
        assert not changed, f"changed: {changed}"
        assert digest == self.digest


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command line in-process: (exit code, stdout, stderr)."""
    from segtui.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


WHERE = "orders >= 2"
SEGMENT = "One-time buyers"

COMMANDS = {
    "check": lambda src, out: ["check", src],
    "check-json": lambda src, out: ["check", src, "--json"],
    "fields": lambda src, out: ["fields", src, "--as-of", AS_OF.isoformat()],
    "segments": lambda src, out: ["segments", src, "--json", "--as-of", AS_OF.isoformat()],
    "count-where": lambda src, out: ["count", src, "--where", WHERE],
    "count-segment": lambda src, out: ["count", src, "--segment", SEGMENT, "--json"],
    "export-tmp": lambda src, out: ["export", src, "--where", WHERE, "--out", out / "members.parquet"],
    "export-inside": lambda src, out: ["export", src, "--segment", SEGMENT, "--out", out / "members.csv"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("shop", KINDS, indirect=True)
def test_cli_command_leaves_the_shop_untouched(shop, command, tmp_path, capsys, monkeypatch):
    kind, source, folder = shop
    inside = command == "export-inside"
    target_folder = folder if inside else tmp_path / "out"
    target_folder.mkdir(exist_ok=True)
    monkeypatch.chdir(folder)  # as a user who runs segtui inside the shop's folder
    guard = Untouched(folder)
    code, stdout, stderr = cli(capsys, *COMMANDS[command](source, target_folder))
    assert code == 0, stderr
    assert "Traceback" not in stderr
    if command.startswith("count"):
        assert stdout.strip()
    guard.check(allowed_new=("members.csv",) if inside else ())
    if command.startswith("export"):
        written = target_folder / ("members.csv" if inside else "members.parquet")
        assert written.stat().st_size > 0
        assert not [p for p in target_folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("shop", ["duckdb"], indirect=True)
def test_real_process_leaves_the_shop_untouched(shop, tmp_path):
    """The console entry point in its own process: DuckDB's exit path (checkpoint, WAL clean-up)
    writes nothing beside the attached file either. Folders are read by an in-memory database
    only, so the in-process runs above cover them."""
    kind, source, folder = shop
    guard = Untouched(folder)
    result = run_cli("count", str(source), "--where", WHERE, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 0
    result = run_cli("export", str(source), "--where", WHERE, "--out", str(folder / "members.csv"))
    assert result.returncode == 0, result.stderr
    guard.check(allowed_new=("members.csv",))
    # and refusing to overwrite it leaves that file alone as well
    guard = Untouched(folder)
    result = run_cli("export", str(source), "--where", "orders >= 1", "--out", str(folder / "members.csv"))
    assert result.returncode == 1 and "already exists" in result.stderr
    guard.check()


@pytest.mark.parametrize("shop", KINDS, indirect=True)
async def test_explorer_flows_leave_the_shop_untouched(shop, tmp_path, monkeypatch):
    from segtui.tui.screens.as_of import AsOfScreen
    from segtui.tui.screens.export import ExportScreen
    from segtui.tui.screens.save import SaveScreen
    from segtui.tui.widgets.filter_bar import FilterBar
    from segtui.tui.widgets.segment_list import SegmentList

    kind, source, folder = shop
    segments = tmp_path / "segments"
    segments.mkdir()
    exported = tmp_path / "out" / "filter.csv"
    exported.parent.mkdir()
    monkeypatch.chdir(folder)
    guard = Untouched(folder)
    app = make_app(source, segments_dir=segments)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_ready(pilot)
        assert app.ws.shop.path == source
        assert app.extras.counts.total == 300
        guard.check()  # while the shop is open: no .wal or lock file beside it
        # navigate
        first = app.query_one(SegmentList).highlighted_segment
        await pilot.press("down", "down")
        await settle(pilot)
        assert app.query_one(SegmentList).highlighted_segment is not first
        # filter, apply
        await pilot.press("slash")
        app.query_one(FilterBar).input.value = WHERE
        await pilot.press("enter")
        await settle(pilot)
        assert app.applied is not None and app.applied.expr == WHERE
        # export the filter outside the shop
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-path").value = str(exported)
        await pilot.press("enter")
        await settle(pilot)
        assert exported.exists(), app.messages
        # save it as a segment (into the segments folder, not the shop)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        app.screen.query_one("#save-name").value = "Repeaters"
        await pilot.press("enter")
        await settle(pilot)
        assert [p.name for p in segments.iterdir()] == ["repeaters.sql"], app.messages
        # another as-of date
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AsOfScreen)
        app.screen.query_one("#as-of-input").value = "2026-03-31"
        app.ready.clear()
        await pilot.press("enter")
        await wait_ready(pilot)
        assert app.ws.as_of.isoformat() == "2026-03-31"
        # refresh
        old = app.ws
        app.ready.clear()
        await pilot.press("r")
        await wait_ready(pilot)
        await wait_for(pilot, lambda: app.ws is not old)
        app._poll_source()
        assert not any("changed on disk" in m for m in app.messages), app.messages
        assert not any("error" in m for m in app.messages), app.messages
        guard.check()
        await pilot.press("q")
    guard.check()


@pytest.mark.parametrize("shop", ["csv"], indirect=True)
def test_spilling_to_disk_never_writes_into_the_current_folder(shop, monkeypatch):
    """DuckDB spills big sorts and joins to disk, by default into ``.tmp`` of the *current*
    folder: the shop's own folder for a user who runs ``segtui open .`` there. segtui points it
    at the user cache folder instead."""
    from segtui.core.source import open_source
    from segtui.locations import cache_dir

    kind, source, folder = shop
    monkeypatch.chdir(folder)
    guard = Untouched(folder)
    opened = open_source(".")
    try:
        con = opened.con
        con.execute("SET memory_limit = '40MB'")
        con.execute("SET threads = 1")
        con.execute("CREATE TEMP TABLE big AS SELECT range AS a, md5(CAST(range AS VARCHAR)) AS b FROM range(2000000)")
        spilled = [row[0] for row in con.execute("SELECT path FROM duckdb_temporary_files()").fetchall()]
        assert spilled, "nothing was spilled: the test proves nothing"
        assert all(Path(p).resolve().is_relative_to(cache_dir().resolve()) for p in spilled), spilled
        guard.check()  # while the spill files exist
    finally:
        opened.close()
    guard.check()
