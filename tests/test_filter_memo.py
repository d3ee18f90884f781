"""Compiled filters remembered between processes (segtui.core.filter_memo)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from segtui.core import filter_memo, filters
from segtui.core.filter_memo import FilterMemo
from segtui.errors import FilterError

from conftest import run_cli

COLUMNS = {"customer_id": "BIGINT", "orders": "BIGINT", "total_spent": "DOUBLE", "main_os": "VARCHAR"}
UNAVAILABLE = {"events_30d": "needs events"}


def _no_compiler(monkeypatch):
    """Make any real compile fail loudly: an answer now can only come from the memo."""
    def refuse(*args, **kwargs):
        raise AssertionError("compiled again")
    monkeypatch.setattr(filters, "compile_filter", refuse)
    monkeypatch.setattr(filters, "referenced_columns", refuse)


def test_a_second_process_reads_the_compiled_filter_back(tmp_path, monkeypatch):
    path = tmp_path / "filters.json"
    first = FilterMemo(path)
    sql = first.compile("orders >= 3 AND total_spent > 200", COLUMNS, UNAVAILABLE)
    assert sql == filters.compile_filter("orders >= 3 AND total_spent > 200", COLUMNS, UNAVAILABLE)
    assert first.referenced(sql) == {"orders", "total_spent"}
    first.save()
    _no_compiler(monkeypatch)
    again = FilterMemo(path)
    assert again.compile("orders >= 3 AND total_spent > 200", COLUMNS, UNAVAILABLE) == sql
    assert again.referenced(sql) == {"orders", "total_spent"}


def test_what_the_answer_depends_on_is_in_its_key(tmp_path, monkeypatch):
    path = tmp_path / "filters.json"
    memo = FilterMemo(path)
    memo.compile("orders >= 3", COLUMNS, UNAVAILABLE)
    memo.save()
    _no_compiler(monkeypatch)
    again = FilterMemo(path)
    for expr, columns, unavailable in [
        ("orders >= 4", COLUMNS, UNAVAILABLE),  # another filter
        ("orders >= 3", {**COLUMNS, "orders": "DOUBLE"}, UNAVAILABLE),  # another type
        ("orders >= 3", COLUMNS, {}),  # another shop's missing fields
    ]:
        with pytest.raises(AssertionError, match="compiled again"):
            again.compile(expr, columns, unavailable)
    monkeypatch.setattr(filter_memo, "_code_version", lambda: "another segtui")  # the compiler changed
    with pytest.raises(AssertionError, match="compiled again"):
        FilterMemo(path).compile("orders >= 3", COLUMNS, UNAVAILABLE)


def test_mistakes_and_segment_references_are_compiled_every_time(tmp_path):
    path = tmp_path / "filters.json"
    memo = FilterMemo(path)
    with pytest.raises(FilterError, match="unknown field 'order'"):
        memo.compile("order >= 3", COLUMNS, UNAVAILABLE)
    calls = []

    def resolve(name):
        calls.append(name)
        return '"orders" > 1'

    memo.compile("in_segment('Repeat') AND total_spent > 1", COLUMNS, UNAVAILABLE, resolve)
    memo.compile("in_segment('Repeat') AND total_spent > 1", COLUMNS, UNAVAILABLE, resolve)
    assert calls == ["Repeat", "Repeat"]  # the segment's file is read each time
    memo.save()
    assert not path.exists()  # nothing worth keeping


def test_a_damaged_or_unwritable_memo_is_not_used(tmp_path):
    path = tmp_path / "filters.json"
    path.write_text("{not json", encoding="utf-8")
    memo = FilterMemo(path)
    assert memo.compile("orders >= 3", COLUMNS, UNAVAILABLE) == '"orders" >= 3'
    memo.save()
    assert list(json.loads(path.read_text(encoding="utf-8")).values()) == ['"orders" >= 3']
    blocked = tmp_path / "a-file" / "filters.json"
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    memo = FilterMemo(blocked)
    memo.compile("orders >= 3", COLUMNS, UNAVAILABLE)
    memo.save()  # silent
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == ""


def test_the_file_keeps_the_newest_entries_and_what_other_processes_added(tmp_path, monkeypatch):
    monkeypatch.setattr(filter_memo, "LIMIT", 3)
    path = tmp_path / "filters.json"
    other = FilterMemo(path)
    mine = FilterMemo(path)
    other.compile("orders >= 1", COLUMNS, UNAVAILABLE)
    other.save()
    mine.compile("orders >= 2", COLUMNS, UNAVAILABLE)
    mine.save()
    assert sorted(json.loads(path.read_text(encoding="utf-8")).values()) == ['"orders" >= 1', '"orders" >= 2']
    for n in range(3, 6):
        mine.compile(f"orders >= {n}", COLUMNS, UNAVAILABLE)
    mine.save()
    assert list(json.loads(path.read_text(encoding="utf-8")).values()) == [f'"orders" >= {n}' for n in (3, 4, 5)]


def _count_importing(source, cache, *args) -> tuple[str, list[str]]:
    """stdout of `segtui count` in a fresh process, and which of sqlglot's modules it imported."""
    code = ("import sys, segtui.cli as cli\n"
            f"sys.argv = ['segtui', 'count', {str(source)!r}, *{list(args)!r}]\n"
            "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlglot'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                            env={**__import__("os").environ, "SEGTUI_CACHE_DIR": str(cache)})
    *printed, modules = result.stdout.splitlines()
    return "\n".join(printed), json.loads(modules.replace("'", '"'))


def test_a_count_seen_before_runs_without_sqlglot(tiny_duckdb, tmp_path):
    cache = tmp_path / "cache"
    first, modules = _count_importing(tiny_duckdb, cache, "--where", "orders >= 2")
    assert (first, bool(modules)) == ("1", True)
    again, modules = _count_importing(tiny_duckdb, cache, "--where", "orders >= 2")
    assert (again, modules) == ("1", [])
    segment, _ = _count_importing(tiny_duckdb, cache, "--segment", "One-time buyers")
    assert _count_importing(tiny_duckdb, cache, "--segment", "One-time buyers") == (segment, [])
    assert _count_importing(tiny_duckdb, cache, "--where", "orders >= 1")[1]  # a new filter: compiled


def test_no_cache_leaves_no_memo_and_cache_clear_removes_it(tiny_duckdb, tmp_path):
    cache = tmp_path / "cache"
    env = {"SEGTUI_CACHE_DIR": str(cache)}
    assert run_cli("count", str(tiny_duckdb), "--where", "orders >= 2", "--no-cache", env=env).stdout.strip() == "1"
    assert not (cache / "filters.json").exists()
    assert run_cli("count", str(tiny_duckdb), "--where", "orders >= 2", env=env).stdout.strip() == "1"
    assert (cache / "filters.json").exists()
    assert run_cli("cache", "clear", env=env).returncode == 0
    assert not (cache / "filters.json").exists()
