"""Every segment's last 12 month ends, counted in the background once the first counts are on
screen: the list's sparklines and the profile's trend and entered/left line.

The dates are counted on a workspace of their own (a second connection to the shop): for a shop
of up to ``HISTORY_ONE_PASS_CUSTOMERS`` built together in one pass per family, else date by
date, for a shop of up to ``HISTORY_HELPER_CUSTOMERS`` on a third alongside when two dates or
more are to be built: each date builds, or reads from the feature cache, the families the segments read, which
would clash with the shown workspace's tables on its connection (``Workspace.at``). It runs in
a plain thread after the shown build's last stage (a shop built in one pass: from the first
counts, its pass making the shown build's full table, ``timeline.FullTable``, and what it
counts shown once the last stage is in), posts what is known after each date, and
stops between dates (or mid-query, by an interrupt) when the explorer moves to other data or
closes. What is known is posted one message at a time: the next once the UI drew the last.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

class Beside:
    """The second workspace of a shown one (``open_workspace``), opened in a thread of its own
    while the shown one builds its first stage, whose DuckDB work leaves the interpreter free:
    the segment history starts from it once the first counts are in (:meth:`take`). Opened
    then instead, beside the first screen's drawing, it took ~0.4 s on the demo shop, 0.08 s
    alone. A workspace nobody takes is closed (:meth:`discard`) with ``close`` (the explorer's
    ``close_in_thread``: off the UI thread, best effort)."""

    def __init__(self, open_workspace: Callable[[], Any], close: Callable[[Any], None] = lambda ws: ws.close()) -> None:
        self._open_workspace = open_workspace
        self._close = close
        self._ws: Any = None
        self._discarded = False
        self._lock = threading.Lock()
        self._opened = threading.Event()
        # not a daemon: the process waits for DuckDB to finish opening rather than end under it
        self._thread = threading.Thread(target=self._open, name="segtui-beside")
        self._thread.start()

    def _open(self) -> None:
        ws = None
        try:
            ws = self._open_workspace()
        except Exception:  # noqa: BLE001 - whoever takes none opens again and says why
            pass
        finally:
            with self._lock:
                if not self._discarded:
                    self._ws, ws = ws, None
            self._opened.set()
            if ws is not None:
                self._close(ws)

    def take(self) -> Any:
        """The workspace, once opened (None if that failed or it was taken or discarded)."""
        self._opened.wait()
        with self._lock:
            ws, self._ws = self._ws, None
        return ws

    def discard(self) -> None:
        """Close the workspace unless taken (now, or once opened), without waiting."""
        with self._lock:
            self._discarded = True
            ws, self._ws = self._ws, None
        if ws is not None:
            self._close(ws)


class HistoryReady(Message):
    """What is known so far of every segment's history (``segtui.core.timeline.History``) for
    the workspace ``workspace`` shows, or the one line saying why it stopped (``error``)."""

    def __init__(self, workspace: Any, history: Any = None, error: str | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.history = history
        self.error = error


@dataclass
class HistoryRun:
    """One background count of the shown workspace's segments over the last month ends."""

    shown: Any  # the shown workspace (results for another one are dropped)
    open_workspace: Callable[[], Any]  # opens the second workspace, as of the shown one's date
    post: Callable[[Message], Any]
    log: Callable[[str], Any]  # writes the traceback of an unexpected error; returns the log's path
    helper: bool = True  # count dates on a third connection alongside (a shop small enough)
    one_pass: bool = False  # build the dates together, one pass per family (a small shop)
    #: the builds wait for it: a run started with the first counts (:meth:`start`) opens its
    #: workspace and rewrites its queries while the shown build goes on, and builds once set
    go: threading.Event = field(default_factory=threading.Event)
    #: the shown build waits for its full table from this run's one pass (``timeline.FullTable``)
    full: Any = None
    stopped: threading.Event = field(default_factory=threading.Event)
    _ws: Any = None
    _helpers: list = field(default_factory=list)  # the helpers' workspaces (closed by the history)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _posted: bool = False  # a HistoryReady is on its way to the UI, not yet drawn
    _newer: Any = None  # the newest history known since, posted once that one is drawn

    def offer(self, known: Any) -> None:
        """Post what is known now, unless a post is still on its way: then it waits for
        :meth:`drawn`. A redraw of every sparkline takes the UI ~20 ms; the dates read from the
        cache come at once, and a dozen redraws would hold the UI (and the interpreter the
        history's own queries need) for nothing."""
        with self._lock:
            if self._posted:
                self._newer = known
                return
            self._posted = True
        self.post(HistoryReady(self.shown, known))

    def drawn(self) -> None:
        """The UI drew a HistoryReady of this run: post the newest history known since, if any."""
        with self._lock:
            newer, self._newer = self._newer, None
            self._posted = newer is not None
        if newer is not None:
            self.post(HistoryReady(self.shown, newer))

    def start(self, go: bool = True) -> None:
        """Run in a thread of its own; with ``go`` False, up to its first build only, until
        :attr:`go` is set."""
        if go:
            self.go.set()
        self._thread = threading.Thread(target=self._run, name="segtui-history", daemon=True)
        self._thread.start()

    def stop(self, wait: float | None = None) -> None:
        """Stop at the next date, interrupting the query running now; ``wait``: join the
        thread, interrupting again meanwhile (one that came between two queries is lost), so
        that the process never ends under a running query, which aborts it."""
        self.stopped.set()
        if self.full is not None:
            self.full.resolve(False)  # the shown build, if it still waits, builds on
        self._interrupt()
        if wait is None or self._thread is None:
            return
        deadline = time.monotonic() + wait
        while self._thread.is_alive() and time.monotonic() < deadline:
            self._thread.join(timeout=0.05)
            self._interrupt()

    def _interrupt(self) -> None:
        with self._lock:
            for ws in [self._ws, *self._helpers]:
                if ws is not None:
                    try:
                        ws.con.interrupt()
                    except Exception:  # noqa: BLE001 - closing or closed: nothing runs
                        pass

    def _open_helper(self) -> Any:
        """A third workspace, counting dates beside the second (``timeline.history`` closes
        it); :meth:`stop` interrupts it too (once closed, that is a no-op)."""
        helper = self.open_workspace()
        with self._lock:
            self._helpers.append(helper)
        return helper

    def _run(self) -> None:
        import duckdb

        from segtui.core import timeline
        from segtui.errors import SegtuiError

        ws = None
        try:
            ws = self.open_workspace()
            with self._lock:
                if self.stopped.is_set():
                    return
                self._ws = ws
            dates, _ = timeline.trend_dates(ws.data_range, None, self.shown.as_of, "month")  # the last 12
            helpers = [self._open_helper] if self.helper else []
            run = timeline.history(ws, dates, helpers=helpers, stopped=self.stopped, one_pass=self.one_pass,
                                   go=self.go, full=self.full)
            try:
                for known in run:
                    if self.stopped.is_set():
                        return
                    self.offer(known)
            finally:
                run.close()
        except duckdb.InterruptException:
            pass
        except SegtuiError as error:
            if not self.stopped.is_set():
                self.post(HistoryReady(self.shown, error=str(error)))
        except Exception as error:  # noqa: BLE001 - a bug here must not take the explorer down
            if not self.stopped.is_set():
                path = self.log("history worker")
                self.post(HistoryReady(self.shown, error=f"unexpected error ({type(error).__name__}); details in {path}"))
        finally:
            if self.full is not None:
                self.full.resolve(False)
            with self._lock:
                self._ws = None
            if ws is not None:
                ws.close()
