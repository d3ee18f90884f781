"""End to end: the real ``segtui open`` in a tmux pane; type a filter, read the count off the
screen, quit, and check that the process is gone. Skipped where tmux is not installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from tui_fixtures import AS_OF, tui_shop  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _tmux(socket: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10)


def _screen(socket: str) -> str:
    return _tmux(socket, "capture-pane", "-p", "-t", "e2e").stdout


def _wait_screen(socket: str, pattern: str, timeout: float = 40.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, _screen(socket))
        if match:
            return match
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared; screen:\n{_screen(socket)}")


def test_open_type_filter_read_count_quit(tui_shop, tmp_path):
    from segtui.core.workspace import open_workspace

    ws = open_workspace(tui_shop, AS_OF)
    try:
        expected = ws.count("orders >= 3")
    finally:
        ws.close()
    socket = f"segtui-e2e-{uuid.uuid4().hex[:8]}"
    env = " ".join(
        f"{name}={shlex_quote(os.environ[name])}"
        for name in ("SEGTUI_CACHE_DIR", "SEGTUI_CONFIG_DIR", "SEGTUI_SEGMENTS_DIR")
    )
    command = (f"env {env} TERM=xterm-256color {shlex_quote(sys.executable)} -m segtui.cli open "
               f"{shlex_quote(str(tui_shop))} --as-of {AS_OF.isoformat()}")  # fmt: skip
    started = _tmux(socket, "new-session", "-d", "-x", "120", "-y", "36", "-s", "e2e", command)
    assert started.returncode == 0, started.stderr
    try:
        _wait_screen(socket, r"as of 2026-06-30 │ [\d,]+ customers")
        _wait_screen(socket, r"of [\d,]+ · by")  # the preview has its first page
        _tmux(socket, "send-keys", "-t", "e2e", "/")
        _wait_screen(socket, r"enter apply")
        _tmux(socket, "send-keys", "-t", "e2e", "-l", "orders >= 3")
        match = _wait_screen(socket, r"┃ ([\d,]+) customers · [\d.]+%")
        assert int(match.group(1).replace(",", "")) == expected
        _tmux(socket, "send-keys", "-t", "e2e", "Escape")
        time.sleep(0.3)
        _tmux(socket, "send-keys", "-t", "e2e", "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _tmux(socket, "has-session", "-t", "e2e").returncode == 0:
            time.sleep(0.1)
        assert _tmux(socket, "has-session", "-t", "e2e").returncode != 0, "segtui did not exit on q"
    finally:
        _tmux(socket, "kill-server")


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
