"""The benchmark script runs end to end at a small scale, so it cannot rot between full runs.

No figure is asserted (they live in benchmarks/README.md); only that every measurement ran,
that its numbers are there and that the tables are printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def test_the_benchmark_runs_at_5000_customers(tmp_path):
    out = tmp_path / "results.json"
    scratch = tmp_path / "tmp"  # the run's own feature cache folder goes here and must go away
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, str(BENCH), "--customers", "5000", "--curve", "1000", "--runs", "1",
         "--pandas-at", "1000", "--count-at", "1000", "--data", str(tmp_path / "shops"), "--in-process", "--json", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(scratch.iterdir()) == []
    assert "| figure | segtui min |" in result.stdout
    assert "| customers | full build (min) |" in result.stdout
    data = json.loads(out.read_text())
    problems = {r["figure"]: r["note"] for r in data["rows"] if r["note"] and "pandas is not installed" not in r["note"]}
    assert problems == {}
    for r in data["rows"]:
        assert r["min"] is not None and r["min"] > 0, r["figure"]
    assert [p["customers"] for p in data["curve"]] == [1000, 5000]
    assert all(p["cpu_min"] > 0 for p in data["curve"]), data["curve"]
    figures = " ".join(r["figure"] for r in data["rows"])
    for name in ("feature build", "reopen with cache", "all built-in counts", "ad-hoc", "export",
                 "explorer first frame", "explorer first counts visible", "explorer all counts visible", "first open, empty cache", "segtui help",
                 "segtui count", "`segtui count` cold (empty cache), orders-only filter, 1,000",
                 "`segtui count` warm (cached), orders-only filter, 5,000"):
        assert name in figures, name
