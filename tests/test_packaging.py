"""The installed package: shipped SQL and sample data, the console script (a Textual-free core is
test_layers.py's)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_resources_are_found():
    from segtui.resources import queries_dir, sample_data_dir

    assert (queries_dir() / "features").is_dir()
    assert any(sample_data_dir().glob("*.parquet"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )
    return next(out.glob("segtui-*.whl"))


def test_wheel_ships_queries_and_sample_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("segtui/queries/features/") and n.endswith(".sql") for n in names)
    assert any(n.startswith("segtui/queries/segments/") and n.endswith(".sql") for n in names)
    assert "segtui/queries/export/contacts.sql" in names
    assert any(n.startswith("segtui/sample_data/") and n.endswith(".parquet") for n in names)


def test_non_editable_install_runs_from_any_directory(wheel, tmp_path):
    """Unpack the wheel alone on sys.path and run the CLI from an unrelated folder."""
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import segtui, segtui.resources as r; "
        "assert segtui.__file__.startswith(%r), segtui.__file__; "
        "print(r.queries_dir()); print(r.sample_data_dir())" % str(target)
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
    check = subprocess.run(
        [sys.executable, "-m", "segtui.cli", "check", str(target / "segtui" / "sample_data")],
        cwd=elsewhere, env=env, capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stderr
    assert "usable" in check.stdout
