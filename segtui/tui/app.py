"""The explorer app: layout, key bindings and the orchestration of background work.

Map of the package: ``widgets/`` draw the screen areas (top bar, loading pane, segment list,
detail/profile, member preview, filter bar), ``screens/`` are the dialogs (export, save, as-of,
confirm, help), ``commands.py`` is the palette provider, ``completion.py`` the filter
autocomplete, ``messages.py`` what workers post back. Every answer comes from the engine
(``Workspace`` methods over ``segtui.core.answers``): this package writes no SQL.

Decisions recorded here:

- No DuckDB call ever runs on the UI thread. Queries run in Textual thread workers, each passing
  its own ``ws.con.cursor()`` to the workspace's methods, and post a ``WorkDone`` message
  tagged with a request id; the app keeps the latest id per channel and drops the rest (a
  cancelled thread keeps running, so cancelling is not enough). Closing a workspace is DuckDB
  work too and runs in a thread of its own. Even compiling a filter runs in a worker: the
  compiler probes the SQL with DuckDB.
- Opening the shop (features can take seconds at a million customers) runs in a plain *daemon*
  thread, not a Textual worker: Textual's thread workers run on asyncio's default executor,
  which is joined when the event loop closes, so ``q`` during a long build would hang until the
  build ended. The progress callback also checks whether the load is still wanted and aborts
  between steps, and ``q`` interrupts running queries (``cursor.interrupt()``).
- With an empty cache the features are built in stages (``Workspace.build_in_stages``): the
  main view appears after the first one, with the counts of the segments it can count, and the
  others show ``…`` until the stage that builds their families; keys work meanwhile. The load
  thread builds and counts, each stage's counts come back as ``StageReady``; a filter that reads
  a family not built yet builds it in its worker (``require``) and says so. A workspace whose
  load thread still builds is closed only once that thread has let go of it (``BuildEnded``).
- A shop small enough for its segment history in one pass (``HISTORY_ONE_PASS_CUSTOMERS``)
  builds only its first stage itself: the history's pass over a dozen month ends, the date on
  screen the last of them, starts with the first counts, is made for every field and writes
  that date's full table to the feature cache, where the last stage reads it
  (``timeline.FullTable``). Its later stages built the same families a second time, and the
  sparklines came ~1.1 s later. If the pass cannot (a query the rewrite does not know, no
  cache, a failure), the stages are built as for any shop. The history's workspace (a
  connection of its own) is opened beside the first stage (``Beside``). Such a shop's numpy
  and scipy (the predictive family's fits) are imported by that pass once its queries are
  rewritten, not by the explorer after the first counts: both imports and the rewrite hold the
  interpreter, and the pass waits on the rewrite.
- Once the first counts are shown, everything alive then (modules, widgets, the first
  workspace) is frozen out of the garbage collector (``gc.freeze``, once per process): each
  full collection walked it with the interpreter held, ~0.1 s, two or three times while the
  segment history started. A later reload's garbage is collected as usual.
- A fresh build is copied into the feature cache *after* its counts are shown (~2 s at a
  million customers), in a thread on its own cursor. ``q`` does not stop it: the
  explorer closes and ``run_app`` waits for the copy, saying so on stderr (Ctrl-C there skips
  it), so quitting right after a long build does not throw the build away. A retired
  workspace is closed only once its copy has ended. A shop small enough for its segment history
  in one pass holds the copy back until that history is counted (the two took turns on the
  cores, and the sparklines came ~0.4 s later); it starts as soon as the history ends, stops,
  or the explorer closes.
- The first frame appears at once with a loading pane; a reload (as-of, refresh) keeps the old
  workspace until the new one is ready, so a refused date (before the first order) costs
  nothing: the error is shown and the old view comes back.
- Moving in the segment list shows that segment; an applied filter is shown until then and is
  remembered (``/`` reopens it). ``E`` starts the filter bar from the highlighted segment's
  expression.
- Every user or data string reaches the screen as ``rich.text.Text`` or with ``markup=False``
  (notifications), so a segment called ``[bold]`` prints literally.
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
import threading
import traceback
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import duckdb
from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher, Footer, Input, OptionList

from segtui.core.filters import referenced_columns
from segtui.core.segments import SegmentCounts, save_segment, slugify
from segtui.core.source import CONTACT_COLUMNS
from segtui.errors import SegtuiError
from segtui.locations import log_file
from segtui.tui import keys
from segtui.tui.commands import SegtuiCommands
from segtui.tui.completion import Vocabulary
from segtui.tui.history import Beside, HistoryReady, HistoryRun
from segtui.tui.messages import (
    BuildEnded,
    LiveBuilding,
    LiveCount,
    LoadProgress,
    PreviewPage,
    StageReady,
    StoreDone,
    WorkDone,
    WorkspaceLoaded,
)
from segtui.tui.screens.as_of import LATEST, AsOfScreen
from segtui.tui.screens.confirm import ConfirmScreen
from segtui.tui.screens.customer import TIMELINE_PAGE, CustomerScreen
from segtui.tui.screens.export import ExportRequest, ExportScreen
from segtui.tui.screens.help import HelpScreen
from segtui.tui.screens.save import SaveRequest, SaveScreen
from segtui.tui.selection import Selection
from segtui.tui.widgets.detail import DetailPane
from segtui.tui.widgets.filter_bar import FilterBar
from segtui.tui.widgets.loading import LoadingPane
from segtui.tui.widgets.preview import PAGE_SIZE, PreviewPane, shown_order
from segtui.tui.widgets.segment_list import SegmentList
from segtui.tui.widgets.top_bar import TopBar

#: Columns the preview shows after customer_id and the filter's own columns, when available.
PREVIEW_COLUMNS = ("orders", "total_spent", "avg_order_value", "days_since_last_order", "favorite_category",
                   "main_device", "rfm_segment", "usage_level")  # fmt: skip
PREVIEW_MAX_COLUMNS = 9
LIVE_DEBOUNCE = 0.08  # seconds between the last keystroke and the count
SELECT_DEBOUNCE = 0.05  # holding ↓ through the list starts one profile, not thirty
SOURCE_POLL = 3.0  # seconds between stats of the source for "changed on disk"
NARROW = 100  # below this width the preview gets less room than the profile
SPARKLINES = 120  # from this width the segment list widens for its sparklines


class _Abandoned(Exception):
    """Raised from the progress callback when a load is no longer wanted (quit, newer load)."""


@dataclass
class Extras:
    """What the load thread precomputes so the UI thread never asks DuckDB: counts, column
    names and types, and the completion vocabulary (with the top values of text fields)."""

    counts: SegmentCounts
    columns: dict[str, str]
    vocabulary: Vocabulary


def log_exception(context: str) -> Path:
    """Append the current traceback to the log file and return its path (never raises)."""
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now().isoformat(timespec='seconds')} {context}\n{traceback.format_exc()}\n")
    except OSError:
        pass
    return path


def source_stamp(source: Path) -> float | None:
    """The newest mtime of the source (a file, or the files of a folder): stat only, no reading."""
    try:
        if source.is_dir():
            return max((entry.stat().st_mtime for entry in os.scandir(source) if entry.is_file()), default=0.0)
        stamp = source.stat().st_mtime
        wal = source.with_name(source.name + ".wal")
        return max(stamp, wal.stat().st_mtime) if wal.exists() else stamp
    except OSError:
        return None


#: The segment history counts dates on a third connection alongside the second for a shop of at
#: most this many customers, where a date is mostly the planning of each family's query (the
#: demo's dozen dates: 2.2 s instead of 3.0 s), and starts beside the first open's copy into
#: the cache. A bigger one keeps to one connection, so that the explorer keeps a core and the
#: history one memory bound (two connections at a million customers held 0.7 GB more), and
#: starts once the copy has let the build's tables go.
HISTORY_HELPER_CUSTOMERS = 200_000
#: Up to this many customers the segment history builds its dates together, one pass over the
#: data per family with the date as a column (``timeline.history(one_pass=True)``): a dozen
#: dates of the demo shop in ~1 s instead of ~2 s on two connections; on a first open the pass
#: also makes the shown date's full table (the module's decisions). The pass holds every date's
#: rows at once, which only a small shop keeps within the history's memory bound.
HISTORY_ONE_PASS_CUSTOMERS = 20_000

_FROZEN = False  # gc.freeze() called (the module's decisions)


def _one_pass(customers: int | None) -> bool:
    """Whether a shop of this many customers counts its segment history in one pass."""
    return customers is not None and customers <= HISTORY_ONE_PASS_CUSTOMERS


def _import_beside(module: str) -> None:
    """Import ``module`` in a thread of its own: the predictive family's numpy and scipy are
    ~0.3 s of imports, which a later build stage would otherwise wait for; the stage before it
    is DuckDB's work, which leaves the interpreter free."""
    import importlib

    def load() -> None:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the stage that needs it imports it again and says why
            pass

    # not a daemon: a quit right after the first counts waits for it rather than end mid-import
    threading.Thread(target=load, name="segtui-import").start()


def close_in_thread(ws) -> None:
    """Close a workspace off the UI thread: closing is DuckDB work too (it frees the feature
    table and the shop's views) and may remove a snapshot copy from disk. Not a daemon: the
    process waits for it rather than end while DuckDB is closing."""

    def close() -> None:
        try:
            ws.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    threading.Thread(target=close, name="segtui-close").start()


def precompute(ws, cursor, before: Extras | None = None, top_values: bool = True) -> Extras:
    """In the load thread, after a build stage: the counts of the segments ``customer_features``
    can count now, its columns and the completion vocabulary. ``before``: what the previous
    stage precomputed; its segments are not counted again, nor its fields' top values.
    ``top_values`` False leaves the new text fields' values to a later stage: between stages
    the table is a join of the ready families, and scanning it competes with the build."""
    counted = set(before.counts) if before is not None else set()
    counts = ws.count_ready(cursor, skip=counted)
    columns = ws.column_types(cursor)
    known = before.vocabulary.values if before is not None else {}
    values = dict(known)
    if top_values:
        values.update(ws.top_values(cursor, [f.name for f in ws.features.available
                                             if f.type == "VARCHAR" and f.name not in known]))  # fmt: skip
    if before is not None:
        counts = SegmentCounts({**before.counts, **counts}, counts.total, {**before.counts.errors, **counts.errors})
    vocabulary = Vocabulary(
        fields={f.name: f.description for f in ws.features.available},
        segments=[c.name for c in ws.catalog.compiled if c.usable],
        values=values,
    )
    return Extras(counts, columns, vocabulary)


def while_shown(handler):
    """A message handler or timer that reads the main view's widgets: skipped once the explorer
    is on its way out (a message that arrives after its widgets went, as a page request or a
    worker's result may, raised NoMatches at exit)."""

    @functools.wraps(handler)
    def guarded(self, *args, **kwargs):
        if self._leaving():
            return None
        return handler(self, *args, **kwargs)

    return guarded


class SegtuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "segtui"
    COMMANDS = App.COMMANDS | {SegtuiCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = keys.bindings("app")

    def __init__(
        self,
        source: Path | str,
        as_of: date | None = None,
        mapping: Path | None = None,
        segments_dir: Path | None = None,
        snapshot: bool = False,
        use_cache: bool = True,
        discount_rate: float = 0.0,
        history: bool = True,
    ) -> None:
        super().__init__()
        self.source = Path(source)
        self.mapping = mapping
        self.segments_dir = segments_dir
        self.snapshot = snapshot  # read a private copy of a DuckDB file another program is writing
        self.use_cache = use_cache  # False: neither read nor write the feature cache (--no-cache)
        self.discount_rate = discount_rate  # clv_365d's yearly discount rate (--discount-rate)
        self.count_history = history  # count every segment's last months in the background
        self.history = None  # what is known of the shown workspace's segment history (timeline.History)
        self._history_run: HistoryRun | None = None
        self._held_store: Any = None  # a workspace whose copy into the cache waits for its history
        self._beside: list[tuple[Any, Beside]] = []  # (shown workspace, its second one opening beside)
        self.requested_as_of = as_of  # None: the latest date in the data
        self.ws = None
        self.extras: Extras | None = None
        self.selection: Selection | None = None
        self.applied: Selection | None = None  # the filter applied with enter, until the list moves
        self.last_filter = ""  # the last applied filter's text: / starts from it
        self.messages: list[str] = []  # every notification, for tests and the curious
        self.waiting: dict[str, tuple[str, ...]] = {}  # segment -> the families its count waits for
        self._deferred: Selection | None = None  # countable, shown in full after the last build stage
        self._build_note = ""  # the header's "building …" while stages run
        self._building: list = []  # workspaces a load thread still builds
        self._build_cons: set = set()  # their connections, for the interrupt on the way out
        self._load_threads: list[threading.Thread] = []
        self.ready = threading.Event()  # set when a workspace is shown (tests wait on it)
        self.built = threading.Event()  # set when the shown workspace's last build stage is in
        self._generation = 0
        self._load_args: dict[int, date | None] = {}
        self._seq = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._cursors: set = set()
        self._cursor_lock = threading.Lock()
        self._retired: list = []
        self._storing: list = []  # workspaces whose fresh build is being copied into the cache
        self._store_cursors: set = set()
        self.stores: list[threading.Event] = []  # one per copy into the cache, set when it ends
        self._quitting = False
        self._live_timer = None
        self._select_timer = None
        self._apply_pending: str | None = None
        self._stamp: float | None = None
        self._notified_stamp: float | None = None
        self._unexpected: dict[str, str] = {}  # channel -> the unexpected error it last reported

    # ------------------------------------------------------------------ layout

    #: Below NARROW columns every screen has the class -narrow (the list and the preview
    #: shrink). Textual sets it from the resize event's size before the layout; a class set in
    #: on_resize from App.size came one resize late (120 -> 80 kept the wide sidebar).
    #: From SPARKLINES columns (-widest) the list is wide enough for the segments' sparklines.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide"), (SPARKLINES, "-widest")]

    #: Actions on the main view: over another screen (a dialog, a customer's story) they would
    #: act on a view that is not in front, so there they are off and out of the footer.
    MAIN_ACTIONS = frozenset({"open_filter", "edit_segment", "export", "save", "as_of", "refresh", "zoom", "back",
                              "toggle_mark", "transitions"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MAIN_ACTIONS and len(self.screen_stack) > 1:
            return False
        return True

    def compose(self) -> ComposeResult:
        yield TopBar(id="top-bar")
        with ContentSwitcher(initial="loading", id="body"):
            yield LoadingPane(id="loading")
            with Vertical(id="main"):
                yield FilterBar(id="filter-bar")
                with Horizontal(id="panes"):
                    yield SegmentList(id="segments")
                    with Vertical(id="right"):
                        yield DetailPane(id="detail")
                        yield PreviewPane(id="preview")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(FilterBar).display = False
        # Nothing has focus while the shop loads (the list takes it once shown): the screen's
        # auto-focus would pick the hidden filter input, whose keys the footer then showed.
        self.call_after_refresh(self._unfocus_while_loading)
        self.query_one(SegmentList).border_title = "Segments"
        self.query_one(DetailPane).border_title = "Profile"
        self.query_one(PreviewPane).border_title = "Members"
        self.query_one(TopBar).show(self.source.name)
        self._start_load(self.requested_as_of, f"Opening {self.source.name}…")
        self.set_interval(SOURCE_POLL, self._poll_source)

    # ------------------------------------------------------------------ loading

    def _unfocus_while_loading(self) -> None:
        if self.ws is None:  # once loaded, the segment list has taken the focus
            self.set_focus(None)

    def _start_load(self, as_of: date | None, title: str) -> None:
        self._generation += 1
        generation = self._generation
        self._load_args[generation] = as_of
        self.built.clear()
        self.query_one(LoadingPane).start(title)
        self.query_one("#body", ContentSwitcher).current = "loading"
        thread = threading.Thread(target=self._load, args=(generation, as_of), daemon=True,
                                  name=f"segtui-load-{generation}")  # fmt: skip
        self._load_threads = [t for t in self._load_threads if t.is_alive()] + [thread]
        thread.start()

    def _load(self, generation: int, as_of: date | None) -> None:
        """In the load thread: open the shop, then build the features in stages, counting the
        segments each stage makes countable; the main view is shown after the first."""
        from segtui.core.workspace import open_workspace

        def wanted() -> bool:
            return not self._quitting and generation == self._generation

        def progress(step: str, fraction: float) -> None:
            if not wanted():
                raise _Abandoned
            self.post_message(LoadProgress(generation, step, fraction))

        stamp = source_stamp(self.source)
        try:
            ws = open_workspace(self.source, as_of, self.mapping, self.segments_dir, progress,
                                snapshot=self.snapshot, use_cache=self.use_cache, store_later=True, fields=None,
                                discount_rate=self.discount_rate)
        except _Abandoned:
            return
        except SegtuiError as error:
            self.post_message(WorkspaceLoaded(generation, error=str(error)))
            return
        except Exception as error:  # noqa: BLE001 - a bug: log it, show where
            if self._quitting:  # the build was interrupted on the way out: nothing to report
                return
            path = log_exception("opening the shop")
            self.post_message(WorkspaceLoaded(generation, error=f"unexpected error ({type(error).__name__}); details in {path}"))
            return
        if self.count_history:  # the segment history's workspace, opened beside the first stage
            with self._cursor_lock:
                self._beside.append((ws, Beside(self._open_second(ws), close_in_thread)))
        con = ws.con
        self._building.append(ws)
        with self._cursor_lock:
            self._build_cons.add(con)
        try:
            self._build_stages(generation, ws, stamp, progress)
        finally:
            self._release(self._build_cons, con, close=False)
            self._building = [other for other in self._building if other is not ws]
            self.post_message(BuildEnded())

    def _build_stages(self, generation: int, ws, stamp: float | None, progress) -> None:
        """Build ``ws`` stage by stage; post the first as WorkspaceLoaded, the rest as StageReady.
        Once shown, the build goes on while ``ws`` is the shown workspace (a reload that fails
        keeps it), and stops on quit or when a newer workspace replaced it."""
        from segtui.core.timeline import FullTable

        shown = False

        def staged(step: str, fraction: float) -> None:
            # Not "self.ws is not ws": the UI thread may not have taken WorkspaceLoaded yet (on a
            # busy machine it had not, and the build of a shown workspace stopped after its first
            # stage, counts left at "…" for good). Stop when a newer workspace retired this one.
            if shown and (self._quitting or any(ws is old for old in self._retired)):
                raise _Abandoned
            if shown:
                self.post_message(LoadProgress(generation, step, fraction, shown=True))
            else:
                progress(step, fraction)

        cursor = ws.con.cursor()
        with self._cursor_lock:
            self._cursors.add(cursor)  # q interrupts the counting
        extras = None
        full = FullTable() if self.count_history and self.use_cache else None

        def from_history(report) -> bool:
            """After the first counts of a small shop: its full table, from the segment
            history's one pass (the module's decisions)."""
            return full.wait(abandoned, report)

        def abandoned() -> None:
            if self._quitting or any(ws is old for old in self._retired):
                raise _Abandoned

        try:
            for stage in ws.build_in_stages(staged, from_history if full is not None else None):
                if not shown:
                    self.post_message(LoadProgress(generation, "counting segments", 1.0))
                extras = precompute(ws, cursor, extras, top_values=stage.final or not shown)
                if shown:
                    self.post_message(StageReady(ws, stage, extras))
                    continue
                self._stamp = stamp
                if not self.post_message(WorkspaceLoaded(generation, ws, extras, stage=stage, full=full)):
                    self._discard_beside(ws)
                    ws.close()  # the app is gone
                    return
                shown = True
                one_pass = _one_pass(extras.counts.total)
                if full is not None and not one_pass:
                    # _take_stage says the same once the UI takes the stage; a big shop's build
                    # does not wait for that (the first screen's drawing) to go on
                    full.resolve(False)
                if not stage.final and "predict" in ws.builder.families_for(None) and not (full is not None and one_pass):
                    # (a small shop's history imports it in its pass, after its own rewrite)
                    _import_beside("segtui.core.predict")
        except (_Abandoned, duckdb.InterruptException):
            if not shown:
                self._discard_beside(ws)
                ws.close()
                if not self._quitting and generation == self._generation:
                    # Nobody asked for this stop: say so rather than leave "counting segments"
                    # on screen for good.
                    self.post_message(WorkspaceLoaded(generation, error="the build was interrupted before its first counts"))
        except Exception as error:  # noqa: BLE001
            message = str(error) if isinstance(error, SegtuiError) else \
                f"unexpected error ({type(error).__name__}); details in {log_exception('building the features and counting segments')}"  # fmt: skip
            if shown:
                self.post_message(StageReady(ws, error=message))
            else:
                self._discard_beside(ws)
                ws.close()
                self.post_message(WorkspaceLoaded(generation, error=message))
        finally:
            self._release(self._cursors, cursor)

    def _leaving(self) -> bool:
        """The explorer is on its way out: a stage's message may arrive after its widgets went."""
        return self._quitting or not self.query("#top-bar")

    def on_load_progress(self, message: LoadProgress) -> None:
        if self._leaving():
            return
        if message.shown:  # a later stage of the shown workspace: the header says how far
            if self.waiting:
                self._building_note(message.fraction)
        elif message.generation == self._generation:
            self.query_one(LoadingPane).step(message.step, message.fraction)

    def _building_note(self, fraction: float) -> None:
        note = f"building features {fraction:.0%}…"
        if note != self._build_note:
            self._build_note = note
            self._show_header()

    def on_workspace_loaded(self, message: WorkspaceLoaded) -> None:
        if self._leaving():  # its widgets are gone: close what the load made, show nothing
            if message.workspace is not None:
                self._retire(message.workspace)
            return
        if message.generation != self._generation:
            if message.workspace is not None:
                self._retire(message.workspace)  # once its load thread has let go of it
            return
        if message.error is not None:
            if self.ws is None:
                self.query_one(LoadingPane).fail(message.error)
            else:
                self.say(message.error, "error")
                self.query_one("#body", ContentSwitcher).current = "main"
                if not self.waiting:
                    self.built.set()
            return
        old, self.ws, self.extras = self.ws, message.workspace, message.extras
        self._stop_history()
        self.requested_as_of = self._load_args.get(message.generation, self.requested_as_of)
        self._latest = {}  # every result still on its way is now stale
        if old is not None:
            self._retire(old)
        self._take_stage(message.stage, message.full)
        self._notified_stamp = None
        self.query_one(FilterBar).set_vocabulary(self.extras.vocabulary)
        self._show_header()
        segment_list = self.query_one(SegmentList)
        segment_list.show(self.ws.catalog.compiled, self.extras.counts)
        self.query_one("#body", ContentSwitcher).current = "main"
        if segment_list.marked:  # new data (as-of, refresh): the marked segments' overlap again
            self._count_overlap(segment_list.marked)
        if old is None or self.focused is None:
            segment_list.focus()
        self.selection = None  # same segment, new data: show it again
        if self.applied is not None:  # recompile the filter against the new workspace
            self._apply_pending = self.applied.expr
            self._count_live(self.applied.expr)
        else:
            self._select_highlighted()
        global _FROZEN
        if not _FROZEN:  # the module's decisions
            _FROZEN = True
            gc.freeze()
        self.ready.set()

    def _take_stage(self, stage, full=None) -> None:
        """Note which segments still wait for families; after the last stage, copy the fresh
        build into the cache. ``full``: the build waits for its full table from a small
        shop's segment history (``timeline.FullTable``), started here; else told not to."""
        self.waiting = dict(stage.waiting) if stage is not None else {}
        final = stage is None or stage.final
        storing = final and self.ws.pending_store is not None
        after_store = storing and not self._small_shop()  # a big build's tables are let go by then
        handed = False
        if not self.waiting:
            self._build_note = ""
            self.built.set()
            if final and not after_store:
                self._start_history()
        else:
            if not self._build_note:
                self._build_note = "building features…"
            if self._one_pass_shop():  # its one pass makes the full table, or it waits for the last stage
                handed = self._start_history(go=False, full=full)
        if full is not None and not handed:
            full.resolve(False)  # no history makes it: the build builds on
        if storing and self.count_history and not after_store and self._one_pass_shop():
            self._held_store = self.ws  # copied once its history is counted (the module's decisions)
        elif storing:
            self._store_later(self.ws, then=self._start_history if after_store else None)

    def _customers(self) -> int | None:
        """The shown shop's customers (its universe), once the first counts are in."""
        return self.extras.counts.total if self.extras else None

    def _one_pass_shop(self) -> bool:
        """At most HISTORY_ONE_PASS_CUSTOMERS customers: the segment history builds its dates in
        one pass, and readies it beside the shown build's later stages."""
        return _one_pass(self._customers())

    def _small_shop(self) -> bool:
        """At most HISTORY_HELPER_CUSTOMERS customers: the segment history may count dates on
        two connections, and start beside the first open's copy into the cache."""
        customers = self._customers()
        return customers is not None and customers <= HISTORY_HELPER_CUSTOMERS

    def on_stage_ready(self, message: StageReady) -> None:
        if message.workspace is not self.ws or self._leaving():
            return
        if message.error is not None:
            self.say(f"building the features failed: {message.error}", "error")
            self._stop_history()  # one readied beside the build would wait for good
            self.waiting, self._build_note = {}, ""
            self._show_header()
            self.built.set()
            return
        was_waiting = self.waiting
        self.extras.counts = message.extras.counts
        self.extras.columns = message.extras.columns
        self.extras.vocabulary = message.extras.vocabulary
        self._take_stage(message.stage)
        self.query_one(FilterBar).set_vocabulary(self.extras.vocabulary)
        self._show_header()
        self.query_one(SegmentList).show(self.ws.catalog.compiled, self.extras.counts)
        selection = self.selection
        if selection is None or selection.sql is None or selection.title in self.waiting:
            return
        if selection.title in was_waiting and not message.stage.final:
            # Its count is in the list now; its profile and members wait for the last stage.
            # Scanning a join of the ready families (profile, near misses, a members page)
            # while the build went on made a million-customer first open take 31 s to every
            # count instead of the build's 25 s (measured 2026-12-01).
            self._deferred = selection
            self.query_one(DetailPane).show(selection, None, "waiting", "profile and members when every feature is built")
            self.query_one(PreviewPane).show_error("members when every feature is built")
            return
        if selection.title in was_waiting or (message.stage.final and self._deferred == selection):
            self._deferred = None
            self.selection = None  # its families are ready: show it
            self._show(selection)
        elif not message.stage.final:
            # Its profile and members are on screen; refreshing them over a join of the ready
            # families at every stage slowed a million-customer build by seconds. The last
            # stage brings the table and every field.
            return
        elif self._preview_columns(selection.expr) != self.query_one(PreviewPane).columns:
            self.selection = None  # its preview gains columns: show it again
            self._show(selection)
        else:  # the profile's distributions may read the new fields
            detail = self.query_one(DetailPane)
            detail.show(selection, detail.profile, "loading")
            self._run_query("profile", lambda ws, cursor: ws.profile(cursor, selection.sql))

    def on_build_ended(self, message: BuildEnded) -> None:
        self._close_retired()

    # ------------------------------------------------------------------ segment history

    def _start_history(self, go: bool = True, full=None) -> bool:
        """Count every segment's last month ends in the background (sparklines, trend and
        entered/left in the profile), once per shown workspace, after its last build stage;
        with ``go`` False, a run that builds nothing until called again (``go`` True), but
        its one pass for ``full`` (``timeline.FullTable``): whether a new run took it."""
        ws = self.ws
        if not self.count_history or ws is None or self._quitting:
            return False
        if self._history_run is not None and self._history_run.shown is ws:
            if go:
                self._history_run.go.set()
            return False
        self._stop_history()
        self._history_run = HistoryRun(ws, self._second_workspace(ws), self.post_message, log_exception,
                                       self._small_shop(), one_pass=self._one_pass_shop(), full=full)
        self._history_run.start(go)
        self.query_one(DetailPane).show_history(None, counting=True)
        return full is not None

    def _second_workspace(self, ws) -> Callable[[], Any]:
        """Opens another workspace on the shop as of ``ws``'s date, on a connection of its own
        (for questions over other dates: the segment history, transitions); the first call
        takes the one opened beside ``ws``'s first stage, if any (:class:`Beside`)."""
        opener = self._open_second(ws)

        def second():
            beside = self._take_beside(ws)
            opened = beside.take() if beside is not None else None
            return opened if opened is not None else opener()

        return second

    def _open_second(self, ws) -> Callable[[], Any]:
        """Opens a workspace like ``ws``, taking its data's dates rather than scanning for them
        again (at a million customers a pass over every order and event, beside the build)."""
        from segtui.core.workspace import open_workspace

        def second():
            return open_workspace(self.source, ws.as_of, self.mapping, self.segments_dir, snapshot=self.snapshot,
                                  use_cache=self.use_cache, fields=None, discount_rate=self.discount_rate,
                                  span=ws.data_range)

        return second

    def _take_beside(self, ws) -> Beside | None:
        """The workspace opening beside ``ws``'s first stage, no longer anyone else's."""
        with self._cursor_lock:
            found = next((beside for shown, beside in self._beside if shown is ws), None)
            self._beside = [(shown, beside) for shown, beside in self._beside if beside is not found]
        return found

    def _discard_beside(self, ws=None) -> None:
        """Close the workspace opened beside ``ws`` (None: every one) unless taken."""
        with self._cursor_lock:
            gone = [beside for shown, beside in self._beside if ws is None or shown is ws]
            self._beside = [(shown, beside) for shown, beside in self._beside if beside not in gone]
        for beside in gone:
            beside.discard()

    def action_transitions(self) -> None:
        """Where the highlighted segment's group's customers went since an earlier month end."""
        from segtui.core.timeline import trend_dates
        from segtui.tui.screens.transitions import TransitionsScreen

        segment = self.query_one(SegmentList).highlighted_segment
        if self.ws is None or segment is None:
            self.say("highlight a segment of the group first", "warning")
            return
        dates, _ = trend_dates(self.ws.data_range, None, self.ws.as_of, "month")
        self.push_screen(TransitionsScreen(segment.segment.group, dates[:-1], self.ws.as_of,
                                           self._second_workspace(self.ws), log_exception))

    def _store_held(self) -> None:
        """Start the copy into the cache that waited for the segment history."""
        ws, self._held_store = self._held_store, None
        if ws is not None and ws.pending_store is not None:
            self._store_later(ws)

    def _stop_history(self, wait: float | None = None) -> None:
        run, self._history_run, self.history = self._history_run, None, None
        self._store_held()
        if run is not None:
            run.stop(wait)
            if not self._leaving():
                self.query_one(DetailPane).show_history(None)
                self.query_one(SegmentList).show_history(None)

    def on_history_ready(self, message: HistoryReady) -> None:
        if message.workspace is not self.ws or self._leaving():
            return
        if message.error is not None:
            self._store_held()
            self.say(f"the segments' last months could not be counted: {message.error}", "warning")
            self.query_one(DetailPane).show_history(None)
            return
        if message.history.complete:
            self._store_held()  # before the history is shown complete: whoever waits for it sees the copy
        self.history = message.history
        self.query_one(SegmentList).show_history(self.history)
        self.query_one(DetailPane).show_history(self.history)
        if self._history_run is not None and self._history_run.shown is message.workspace:
            self._history_run.drawn()  # the newest known meanwhile, if any, comes next

    def _show_header(self) -> None:
        note = ""
        if self.applied is not None and self.selection is self.applied:
            note = "filter: " + " ".join(self.applied.expr.split())
        total = self.extras.counts.total if self.extras else None
        as_of = self.ws.as_of.isoformat() if self.ws else None
        self.query_one(TopBar).show(self.ws.shop.name if self.ws else self.source.name, as_of, total, note,
                                    self._build_note)  # fmt: skip

    def _retire(self, ws) -> None:
        """Close an old workspace once no worker may still hold one of its cursors."""
        self._discard_beside(ws)
        self._retired.append(ws)
        self._close_retired()

    def _close_retired(self) -> None:
        if self._retired and not any(worker.is_running for worker in self.workers):
            storing = [ws for ws in self._retired if any(ws is other for other in self._storing + self._building)]
            for ws in self._retired:
                if any(ws is other for other in storing):
                    continue  # closed when its copy into the cache or its build ends (StoreDone, BuildEnded)
                close_in_thread(ws)
            self._retired = storing

    def _store_later(self, ws, then: Callable[[], None] | None = None) -> None:
        """Copy ``ws``'s fresh build into the feature cache in a thread (see the module's
        decisions); the copy is best effort, and a bug in it is logged, never shown as a failure.
        ``then``: called on the UI thread once it is done, if ``ws`` is still the one shown (the
        segment history: at a million customers the copy frees the families' tables, a GB, and
        the history's own builds would otherwise hold theirs beside them)."""
        store, ws.pending_store = ws.pending_store, None
        self._storing.append(ws)

        def run() -> None:
            cursor = None
            try:
                cursor = ws.con.cursor()  # in the thread: no DuckDB call on the UI thread
                with self._cursor_lock:
                    self._store_cursors.add(cursor)
                store(cursor)
            except Exception:  # noqa: BLE001 - store_features handles I/O and DuckDB errors itself
                log_exception("saving the feature cache")
            finally:
                if cursor is not None:
                    self._release(self._store_cursors, cursor)
                self._storing = [other for other in self._storing if other is not ws]
                done.set()
                self.post_message(StoreDone(ws, then))

        # An Event, not Thread.join: after a join interrupted by Ctrl-C, Python 3.11 may report
        # the thread dead while it runs (seen here: the shop then closed under the copy).
        done = threading.Event()
        self.stores.append(done)
        # Not a daemon: a process that ends while DuckDB writes aborts ("exception not
        # rethrown"), so Python's exit waits for the copy too (tests, the benchmark).
        threading.Thread(target=run, name="segtui-store").start()

    def on_store_done(self, message: StoreDone) -> None:
        self.stores = [done for done in self.stores if not done.is_set()]
        self._close_retired()
        if message.then is not None and message.workspace is self.ws and not self._leaving():
            message.then()

    def interrupt_stores(self) -> None:
        """Stop the copies into the cache (their temp files are removed): Ctrl-C in run_app."""
        self._interrupt(self._store_cursors)

    def _release(self, cursors: set, cursor, close: bool = True) -> None:
        """Forget and close a finished query's cursor (from its thread)."""
        with self._cursor_lock:
            cursors.discard(cursor)
        if not close:
            return
        try:
            cursor.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    def _interrupt(self, cursors: set) -> None:
        with self._cursor_lock:
            running = list(cursors)
        for cursor in running:
            try:
                cursor.interrupt()
            except Exception:  # noqa: BLE001 - best effort
                pass

    # ------------------------------------------------------------------ workers

    def _run_query(self, channel: str, work: Callable[[Any, Any], Any], track: bool = True) -> int:
        """Run ``work(ws, cursor)`` in a thread worker; its result comes back as WorkDone.

        ``track``: only the newest request of the channel counts (profile, preview, live);
        untracked channels (export, save) deliver every result.
        """
        request = next(self._seq)
        if track:
            self._latest[channel] = request
        ws = self.ws

        def run() -> None:
            cursor = None
            try:
                cursor = ws.con.cursor()
                with self._cursor_lock:
                    self._cursors.add(cursor)
                result = work(ws, cursor)
            except SegtuiError as error:
                self.post_message(WorkDone(channel, request, error=str(error)))
            except duckdb.InterruptException:
                pass
            except Exception as error:  # noqa: BLE001 - a bug, unless it is a stale result's
                if not self._quitting and (not track or self._latest.get(channel) == request) and ws is self.ws:
                    path = log_exception(f"{channel} worker")
                    self.post_message(WorkDone(channel, request, error=f"unexpected error ({type(error).__name__}); "
                                               f"details in {path}", unexpected=True))  # fmt: skip
            else:
                self.post_message(WorkDone(channel, request, result))
            finally:
                if cursor is not None:
                    self._release(self._cursors, cursor)

        self.run_worker(run, thread=True, group=channel, exit_on_error=False)
        return request

    def on_work_done(self, message: WorkDone) -> None:
        self.call_later(self._close_retired)
        if self._leaving():
            return  # a result that arrives while the explorer closes has nowhere to go
        if message.channel in ("profile", "near", "model", "overlap", "preview", "live", "customer") and self._latest.get(message.channel) != message.request:
            return  # stale: a newer request was made since
        self._tell_unexpected(message)
        handler = getattr(self, f"_done_{message.channel}")
        handler(message)

    def _tell_unexpected(self, message: WorkDone) -> None:
        """A bug in a profile, preview or live-count worker is drawn inline, where a pane may be
        small or hidden: say it once as a notification too (with the log's path). The same fault
        repeated (every move in the list) is not said again until that channel works again.
        Export and save say their errors themselves."""
        if message.channel not in ("profile", "preview", "live"):
            return
        if not message.unexpected:
            self._unexpected.pop(message.channel, None)
            return
        if message.error not in self._unexpected.values():
            self.say(message.error, "error")
        self._unexpected[message.channel] = message.error

    # ------------------------------------------------------------------ selection: detail + preview

    @on(OptionList.OptionHighlighted, "#segments")
    @while_shown
    def _segment_highlighted(self) -> None:
        if self._select_timer is not None:
            self._select_timer.stop()
        self._select_timer = self.set_timer(SELECT_DEBOUNCE, self._select_highlighted)

    @while_shown
    def _select_highlighted(self) -> None:
        compiled = self.query_one(SegmentList).highlighted_segment
        if compiled is None or self.ws is None:
            return
        selection = Selection.of_segment(compiled)
        if self.selection == selection:
            return
        self.applied = None  # moving in the list shows that segment; / brings the filter back
        self._show(selection)

    def _show(self, selection: Selection) -> None:
        self.selection = selection
        self._deferred = None
        self._show_header()
        detail = self.query_one(DetailPane)
        preview = self.query_one(PreviewPane)
        if selection.sql is None:
            self._latest.pop("profile", None)
            self._latest.pop("preview", None)
            detail.show(selection, None, "ready")
            preview.show_error(selection.note or "nothing to show")
            return
        if selection.segment is not None and selection.title in self.waiting:
            self._latest.pop("profile", None)
            self._latest.pop("preview", None)
            families = " and ".join(self.waiting[selection.title])
            detail.show(selection, None, "waiting", f"counting when the {families} features are built")
            preview.show_error(f"members when the {families} features are built")
            return
        detail.show(selection, detail.profile if detail.selection == selection else None, "loading")
        columns = self._preview_columns(selection.expr)
        preview.reset(columns, sort="total_spent" if "total_spent" in columns else "customer_id")
        sql = selection.sql
        self._run_query("profile", lambda ws, cursor: ws.profile(cursor, sql))
        self._run_query("near", lambda ws, cursor: (selection, ws.near_misses(cursor, selection.expr, sql)))
        if self.ws.reads_predictions(sql):  # how far to trust it: the fit and its check on the last 90 days
            self._run_query("model", lambda ws, cursor: (selection, ws.model_check(cursor)))
        preview.request()

    def _preview_columns(self, expr: str) -> list[str]:
        available = list(self.extras.columns)
        try:
            used = referenced_columns(expr)
        except SegtuiError:
            used = set()
        chosen = ["customer_id"] + [c for c in available if c in used and c != "customer_id"]
        chosen += [c for c in PREVIEW_COLUMNS if c in available and c not in chosen]
        return chosen[:PREVIEW_MAX_COLUMNS]

    def _done_model(self, message: WorkDone) -> None:
        if not message.error:  # a fit that fails is a ModelCheck with its reason, not an error
            self.query_one(DetailPane).show_model(*message.result)

    def _done_near(self, message: WorkDone) -> None:
        if not message.error:  # a profile that failed says why; near misses just stay away
            selection, near = message.result
            self.query_one(DetailPane).show_near(selection, near)

    def _done_profile(self, message: WorkDone) -> None:
        detail = self.query_one(DetailPane)
        if message.error:
            detail.show(self.selection, None, "error", message.error)
        else:
            detail.show(self.selection, message.result, "ready")

    @on(PreviewPane.PageWanted)
    @while_shown
    def _page_wanted(self, message: PreviewPane.PageWanted) -> None:
        if self.selection is None or self.selection.sql is None:
            return
        sql = self.selection.sql
        preview = self.query_one(PreviewPane)
        columns = list(preview.columns)
        offset, sort, descending = message.page_offset, message.sort, message.descending

        def fetch(ws, cursor) -> PreviewPage:
            count = ws.count_where(sql, cursor)
            rows = ws.members_page(cursor, sql, columns, sort, descending, offset, PAGE_SIZE)
            return PreviewPage(columns, rows, offset, count, sort, descending)

        self._run_query("preview", fetch)

    @on(PreviewPane.CustomerWanted)
    @while_shown
    def _customer_wanted(self, message: PreviewPane.CustomerWanted) -> None:
        if self.ws is not None:
            self.push_screen(CustomerScreen(message.customer_id))

    @on(CustomerScreen.StoryWanted)
    @while_shown
    def _story_wanted(self, message: CustomerScreen.StoryWanted) -> None:
        if self.ws is None:
            return
        ident, offset = message.customer_id, message.page_offset
        self._run_query("customer", lambda ws, cursor: ws.customer(cursor, ident, offset, TIMELINE_PAGE))

    def _done_customer(self, message: WorkDone) -> None:
        screen = self.screen
        if not isinstance(screen, CustomerScreen):
            return  # closed before its answer came
        if message.error:
            screen.show_error(message.error)
        else:
            screen.show_story(message.result)

    def _done_preview(self, message: WorkDone) -> None:
        preview = self.query_one(PreviewPane)
        if message.error:
            preview.show_error(message.error)
        else:
            preview.show_page(message.result)

    # ------------------------------------------------------------------ filter composer

    def action_open_filter(self) -> None:
        if self.ws is None:
            return
        self._open_filter(self.applied.expr if self.applied is not None else self.last_filter)

    def action_edit_segment(self) -> None:
        compiled = self.query_one(SegmentList).highlighted_segment
        if self.ws is None or compiled is None:
            return
        self._open_filter(compiled.segment.where)

    def _open_filter(self, text: str) -> None:
        self.query_one(FilterBar).open(" ".join(text.split()))
        if text.strip():
            self._count_live(" ".join(text.split()))

    def insert_into_filter(self, text: str) -> None:
        """Palette: put a field name at the cursor of the filter bar (opening it if needed)."""
        bar = self.query_one(FilterBar)
        if not bar.display:
            self.action_open_filter()
        field = bar.input
        value = field.value
        position = field.cursor_position
        before = value[:position]
        spacer = "" if not before or before.endswith((" ", "(")) else " "
        field.value = before + spacer + text + value[position:]
        field.cursor_position = len(before + spacer + text)
        field.focus()

    @on(Input.Changed, "#filter-input")
    @while_shown
    def _filter_changed(self, event: Input.Changed) -> None:
        bar = self.query_one(FilterBar)
        bar.update_hint(event.value)
        if self._live_timer is not None:
            self._live_timer.stop()
        if not event.value.strip():
            self._latest["live"] = next(self._seq)  # whatever is counting is now stale
            bar.show_empty()
            return
        bar.show_pending()
        value = event.value
        self._live_timer = self.set_timer(LIVE_DEBOUNCE, lambda: self._count_live(value))

    def _count_live(self, expr: str) -> None:
        if self.ws is None:
            return

        def count(ws, cursor) -> LiveCount:
            sql = ws.compile(expr)
            building = ws.families_to_build(sql)
            if building:
                self.post_message(LiveBuilding(expr, building))
            n = ws.count_where(sql, cursor)
            hints = tuple(ws.case_hints(cursor, expr)) if n == 0 else ()
            return LiveCount(expr, sql, n, self.extras.counts.total, hints)

        self._run_query("live", count)

    @while_shown
    def on_live_building(self, message: LiveBuilding) -> None:
        bar = self.query_one(FilterBar)
        if bar.display and " ".join(bar.input.value.split()) == message.expr:
            bar.show_building(message.families)

    def _compare(self) -> tuple[str | None, int | None]:
        compiled = self.query_one(SegmentList).highlighted_segment
        if compiled is None or self.extras is None or compiled.name not in self.extras.counts:
            return None, None
        return compiled.name, self.extras.counts[compiled.name]

    def _done_live(self, message: WorkDone) -> None:
        bar = self.query_one(FilterBar)
        pending, self._apply_pending = self._apply_pending, None
        if message.error:
            if bar.display:
                bar.show_error(message.error, *self._compare())
            elif pending is not None:  # a reload could not recompile the applied filter
                self.applied = None
                self.say(f"the filter no longer applies: {message.error}", "warning")
                self._select_highlighted()
            return
        live: LiveCount = message.result
        if bar.display:
            bar.show_count(live, *self._compare())
        if pending is not None and pending == live.expr:
            self._apply(live)

    @on(Input.Submitted, "#filter-input")
    @while_shown
    def _filter_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self._close_filter()
            if self.applied is not None:
                self.selection = None
                self._select_highlighted()
            return
        bar = self.query_one(FilterBar)
        if self._live_timer is not None:
            self._live_timer.stop()
        good = bar.last_good
        if good is not None and good.expr == value and "live" in self._latest and self._pending_live_is(value):
            self._apply(good)
        else:  # count it now (no debounce); apply when the answer comes, if it is valid
            self._apply_pending = value
            self._count_live(value)

    def _pending_live_is(self, value: str) -> bool:
        """True when no newer keystroke has been counted since the last good result."""
        return self.query_one(FilterBar).input.value.strip() == value and not any(
            worker.is_running for worker in self.workers if worker.group == "live"
        )

    def _apply(self, live: LiveCount) -> None:
        self.applied = Selection.of_filter(live.expr, live.sql)
        self.last_filter = live.expr
        self._close_filter()
        self._show(self.applied)
        self.query_one(DetailPane).focus()

    def _close_filter(self) -> None:
        bar = self.query_one(FilterBar)
        if bar.display:
            bar.close()
            self.query_one(SegmentList).focus()

    @on(FilterBar.Closed)
    @while_shown
    def _filter_closed(self) -> None:
        self._apply_pending = None
        self._close_filter()

    def action_back(self) -> None:
        """Escape outside the filter bar: drop the applied filter, show the highlighted segment."""
        if self.query_one(FilterBar).display:
            self._close_filter()
        elif self.applied is not None:
            self.selection = None
            self._select_highlighted()

    # ------------------------------------------------------------------ export

    def action_toggle_mark(self) -> None:
        """Mark or unmark the highlighted segment; with two or more marked, their overlap."""
        if self.ws is None:
            return
        self._count_overlap(self.query_one(SegmentList).toggle_mark())

    def _count_overlap(self, marked: list[str]) -> None:
        detail = self.query_one(DetailPane)
        counted = [name for name in marked if name in self.extras.counts]  # not waiting for a family
        if len(counted) < 2:
            self._latest.pop("overlap", None)
            detail.show_overlap(None, marked)
            return
        detail.show_overlap(None, marked, loading=True)
        self._run_query("overlap", lambda ws, cursor: ws.overlap(cursor, counted))

    def _done_overlap(self, message: WorkDone) -> None:
        if message.error:
            self.say(f"the overlap could not be counted: {message.error}", "error")
            return
        self.query_one(DetailPane).show_overlap(message.result, self.query_one(SegmentList).marked)

    def action_export(self) -> None:
        selection = self.selection
        if self.ws is None or selection is None:
            return
        if selection.sql is None:
            self.say(f"cannot export {selection.title}: {selection.note}", "warning")
            return
        if selection.segment is not None:
            members = self.extras.counts.get(selection.title)
        else:
            live = self.query_one(FilterBar).last_good
            members = live.count if live is not None and live.sql == selection.sql else None
        what = selection.title if selection.segment is not None else "the filter " + " ".join(selection.expr.split())
        stem = slugify(selection.title) if selection.segment is not None else "filter"
        # What is on screen, in its order: the members' columns as shown (customer_id, the sort
        # column, the others) with the contact columns after customer_id; rows as sorted.
        preview = self.query_one(PreviewPane)
        shown = [preview.columns[i] for i in shown_order(preview.columns, preview.sort)]
        contacts = [c for c in self.ws.export_columns if c in CONTACT_COLUMNS]
        shown = shown[:1] + contacts + shown[1:] if shown else []
        order = (preview.sort, preview.descending) if shown else None
        screen = ExportScreen(what, members, f"{stem}.csv", self.ws.export_columns, self.ws.export_unavailable,
                              shown=shown)  # fmt: skip
        self.push_screen(screen, lambda request: self._export(request, selection, order))

    def _export(self, request: ExportRequest | None, selection: Selection, order=None) -> None:
        if request is None:
            return
        sql = selection.sql
        self.say(f"exporting to {request.path}…")

        def export(ws, cursor):  # the features it writes are built first: the build may still be in stages
            written = ws.export(sql, request.path, request.columns, request.force, cursor, order=order)
            return written, request.path

        self._run_query("export", export, track=False)

    def _done_export(self, message: WorkDone) -> None:
        if message.error:
            self.say(message.error, "error")
        else:
            rows, path = message.result
            self.say(f"wrote {rows:,} rows to {path}")

    # ------------------------------------------------------------------ save

    def _filter_to_save(self) -> str | None:
        bar = self.query_one(FilterBar)
        if bar.display and bar.input.value.strip():
            return bar.input.value.strip()
        if self.applied is not None:
            return self.applied.expr
        return None

    def action_save(self) -> None:
        if self.ws is None:
            return
        where = self._filter_to_save()
        if where is None:
            self.say("nothing to save: compose a filter with / (or E to start from the highlighted segment)", "warning")
            return
        groups = sorted({c.segment.group for c in self.ws.catalog.compiled})
        self.push_screen(SaveScreen(" ".join(where.split()), groups), self._save_asked)

    def _save_asked(self, request: SaveRequest | None) -> None:
        if request is None:
            return
        existing = next((s for s in self.ws.catalog.segments if s.name.casefold() == request.name.casefold()), None)
        if existing is None:
            self._save(request, overwrite=False)
            return
        if existing.builtin:
            question = f"'{existing.name}' is a built-in segment. Save yours under the same name to replace it in the list?"
        else:
            question = f"A segment named '{existing.name}' already exists ({existing.path}). Overwrite it?"
        self.push_screen(ConfirmScreen(question), lambda yes: self._save(request, overwrite=True) if yes else None)

    def _save(self, request: SaveRequest, overwrite: bool) -> None:
        def work(ws, cursor):
            ws.compile(request.where)  # never save a filter that does not compile here
            path = save_segment(ws.segments_dir, request.name, request.group, request.description, request.where,
                                overwrite=overwrite)  # fmt: skip
            ws.reload_segments()
            return ws, path, request.name, ws.count_all(cursor)

        self._run_query("save", work, track=False)

    def _done_save(self, message: WorkDone) -> None:
        if message.error:
            self.say(message.error, "error")
            return
        ws, path, name, counts = message.result
        self.say(f"saved '{name}' to {path}")
        if ws is not self.ws:
            return
        self.extras.counts = counts
        self.extras.vocabulary.segments = [c.name for c in ws.catalog.compiled if c.usable]
        segment_list = self.query_one(SegmentList)
        segment_list.show(ws.catalog.compiled, counts)
        segment_list.jump_to(name)
        segment_list.focus()
        self.selection = None
        self._select_highlighted()

    # ------------------------------------------------------------------ as-of, refresh, source changes

    def action_as_of(self) -> None:
        if self.ws is None:
            return
        self.push_screen(AsOfScreen(self.ws.as_of, self.ws.data_range), self._as_of_chosen)

    def _as_of_chosen(self, answer) -> None:
        if answer is None:
            return
        day = None if answer == LATEST else answer
        label = day.isoformat() if day else "the latest date"
        self._start_load(day, f"Recomputing {self.source.name} as of {label}…")

    def action_refresh(self) -> None:
        if self.ws is None and self._generation and self.query_one("#body", ContentSwitcher).current == "loading":
            return  # already loading
        self._start_load(self.requested_as_of, f"Refreshing {self.source.name}…")

    def _poll_source(self) -> None:
        if self.ws is None:
            return
        stamp = source_stamp(self.source)
        if stamp is None or self._stamp is None or stamp == self._stamp or stamp == self._notified_stamp:
            return
        self._notified_stamp = stamp
        self.say(f"{self.source.name} changed on disk: press r to refresh", "warning", timeout=15)

    # ------------------------------------------------------------------ palette, help, zoom, quit

    def jump_to_segment(self, name: str) -> None:
        """Palette: highlight a segment (which shows it) and focus the list. An applied filter
        gives way to the segment, and the user is told so: it comes back with /."""
        self._close_filter()
        segment_list = self.query_one(SegmentList)
        if segment_list.jump_to(name):
            segment_list.focus()
            if self.applied is not None:
                expr = " ".join(self.applied.expr.split())
                self.say(f"showing {name}; the filter {expr} is cleared (/ brings it back)")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_zoom(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        for pane in (self.query_one(SegmentList), self.query_one(DetailPane), self.query_one(PreviewPane)):
            if pane.has_focus_within or pane.has_focus:
                self.screen.maximize(pane, container=False)
                return

    async def action_quit(self) -> None:
        """Quit at once: abandon a load in progress, interrupt running queries."""
        self._quitting = True
        self._interrupt(self._cursors)
        self.exit()

    def on_unmount(self) -> None:
        """However the explorer ends: stop a build still in stages and wait for its thread (a
        step at most: the interrupt ends a running query), so that no workspace is closed and
        the process never ends under a running DuckDB query, which aborts the process."""
        self._quitting = True
        self._interrupt(self._cursors | self._build_cons)
        self._stop_history(wait=30)
        self._discard_beside()
        for thread in self._load_threads:
            thread.join(timeout=30)

    def say(self, message: str, severity: str = "information", timeout: float | None = None) -> None:
        """A notification whose text is never read as markup."""
        self.messages.append(message)
        kwargs = {"timeout": timeout} if timeout is not None else {}
        self.notify(message, severity=severity, markup=False, **kwargs)


def run_app(source: Path, as_of: date | None = None, mapping: Path | None = None,
            segments_dir: Path | None = None, snapshot: bool = False, use_cache: bool = True,
            discount_rate: float = 0.0) -> None:  # fmt: skip
    """Run the explorer (``segtui open`` / ``segtui demo``); returns when the user quits."""
    app = SegtuiApp(source, as_of=as_of, mapping=mapping, segments_dir=segments_dir, snapshot=snapshot,
                    use_cache=use_cache, discount_rate=discount_rate)  # fmt: skip
    app.run()
    wait_for_stores(app)
    if app.ws is not None:
        try:
            app.ws.close()
        except Exception:  # noqa: BLE001
            pass


def wait_for_stores(app: SegtuiApp) -> None:
    """After the explorer closed: let a copy of a fresh build into the cache finish (seconds at a
    million customers, and the next open is instant), saying so; Ctrl-C skips it (interrupts
    the copy, whose temp files go) and still waits for it to stop before the shop is closed."""
    import sys

    pending = [done for done in app.stores if not done.is_set()]
    if not pending:
        return
    print("segtui: saving the features to the cache for the next open… (Ctrl-C skips)", file=sys.stderr, flush=True)
    try:
        for done in pending:
            done.wait()
    except KeyboardInterrupt:
        app.interrupt_stores()
        for done in pending:
            done.wait(timeout=30)
