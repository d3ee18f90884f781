"""The headless CLI as scripts use it: stdout data only, one-line errors, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from conftest import assert_one_line_error, make_csv_folder, run_cli, tree_digest
from segtui.resources import sample_data_dir

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def shop() -> Path:
    return sample_data_dir()


@pytest.fixture(scope="module")
def shop_digest(shop):
    return tree_digest(shop)


@pytest.fixture(autouse=True)
def _shop_untouched(shop, shop_digest):
    yield
    assert tree_digest(shop) == shop_digest, "a command changed the sample shop"


@pytest.fixture(scope="module")
def segment_rows(shop):
    result = run_cli("segments", str(shop), "--json", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_segments_json_shape_and_every_builtin_has_members(segment_rows):
    assert len(segment_rows) >= 30
    for row in segment_rows:
        assert {"name", "group", "description", "where", "count", "percent", "available", "reason"} <= set(row)
        assert row["as_of"] == AS_OF
        assert row["available"], row
        assert row["count"] > 0, f"{row['name']} has no members in the sample shop"
        assert 0 < row["percent"] <= 100


def test_segments_text_lists_groups_with_counts(shop, segment_rows):
    result = run_cli("segments", str(shop), "--as-of", AS_OF)
    assert result.returncode == 0
    assert f"as of {AS_OF}" in result.stdout
    best = next(r for r in segment_rows if r["name"] == "Best customers")
    assert "Best customers" in result.stdout and f"{best['count']:,}" in result.stdout


def test_count_prints_only_the_integer(shop):
    result = run_cli("count", str(shop), "--where", "orders >= 3 AND overdue_ratio > 2", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().isdigit() and result.stdout.endswith("\n")
    assert result.stdout.count("\n") == 1


def test_count_matches_plain_sql_on_the_same_features(shop):
    """The filter language must not change meaning: compare with hand-written SQL."""
    from datetime import date

    from segtui.core.workspace import open_workspace

    ws = open_workspace(shop, as_of=date(2026, 6, 30))
    expected = ws.con.execute(
        "SELECT count(*) FROM customer_features WHERE orders >= 3 AND overdue_ratio > 2"
    ).fetchone()[0]
    ws.close()
    result = run_cli("count", str(shop), "--where", "orders >= 3 AND overdue_ratio > 2", "--as-of", AS_OF)
    assert int(result.stdout) == expected > 0


def test_count_segment_is_case_insensitive_and_agrees_with_segments(shop, segment_rows):
    best = next(r for r in segment_rows if r["name"] == "Best customers")
    result = run_cli("count", str(shop), "--segment", "best customers", "--as-of", AS_OF, "--json")
    data = json.loads(result.stdout)
    assert data["count"] == best["count"]
    assert data["as_of"] == AS_OF and data["segment"] == "Best customers"
    assert data["total"] > data["count"]


def test_as_of_changes_counts(shop):
    now = run_cli("count", str(shop), "--where", "orders >= 1", "--as-of", AS_OF)
    before = run_cli("count", str(shop), "--where", "orders >= 1", "--as-of", "2025-06-30")
    assert int(before.stdout) < int(now.stdout)


@pytest.mark.parametrize("args, code, text", [
    (["--where", "ordrs >= 3"], 1, "did you mean 'orders'?"),
    (["--segment", "Bset customers"], 1, "did you mean 'Best customers'?"),
    (["--where", "orders > 1; DROP TABLE orders"], 1, "';' is not allowed"),
    (["--where", "orders > (SELECT 1)"], 1, "not allowed"),
    (["--where", "read_csv('/etc/passwd') IS NOT NULL"], 1, "read_csv"),
    ([], 2, "give exactly one of --where EXPR or --segment NAME"),
    (["--where", "orders > 1", "--segment", "Best customers"], 2, "exactly one"),
    (["--where", "orders > 1", "--as-of", "2026-02-30"], 2, "is not a date"),
    (["--where", "orders > 1", "--as-of", "2001-01-01"], 1, "is before the first order"),
    (["--where", "   "], 2, "the filter is empty"),
])
def test_count_errors_are_one_line(shop, args, code, text):
    result = run_cli("count", str(shop), *args)
    assert_one_line_error(result, code, text)
    assert result.stdout == ""


@pytest.mark.parametrize("command", [
    ["fields"], ["segments"], ["count", "--where", "orders >= 1"], ["export", "--where", "orders >= 1", "--out", "-"],
    ["open"], ["demo"],
])
def test_every_command_refuses_an_as_of_after_the_last_activity(shop, command):
    """The sample shop runs from 2024-07-01 to 2026-06-30: a later as-of is refused with that
    range, in one line, before any work (open and demo: before the explorer takes the screen)."""
    name, *rest = command
    args = [name, *([] if name == "demo" else [str(shop)]), *rest]
    result = run_cli(*args, "--as-of", "2030-01-01", timeout=60)
    assert_one_line_error(result, 1, "as-of 2030-01-01 is after the last activity (2026-06-30); "
                                     "choose a date from 2024-07-01 to 2026-06-30")
    assert result.stdout == ""


def test_the_last_activity_day_is_an_as_of_and_the_next_is_not(shop):
    assert run_cli("count", str(shop), "--where", "orders >= 1", "--as-of", AS_OF).returncode == 0
    assert_one_line_error(run_cli("count", str(shop), "--where", "orders >= 1", "--as-of", "2026-07-01"), 1,
                          "is after the last activity (2026-06-30)")


def test_the_range_message_without_orders():
    from datetime import date

    from segtui.core.workspace import DataRange

    span = DataRange(None, date(2026, 3, 5))                 # events only: no first order
    assert span.refuse(date(2020, 1, 1)) is None
    assert span.refuse(date(2026, 3, 6)) == ("as-of 2026-03-06 is after the last activity (2026-03-05); "
                                             "choose a date on or before 2026-03-05")


def test_data_ending_yesterday_opens_today_without_an_as_of(tmp_path):
    """A shop exported yesterday and read today: the default as-of is its last day, not today's
    date, so it works; asking for today explicitly is refused until today's data is in."""
    from datetime import date, timedelta

    today = date.today()
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "orders.csv").write_text(
        f"customer_id,ordered_at,total\n1,{today - timedelta(days=40)} 10:00:00,5\n2,{today - timedelta(days=1)} 09:00:00,7\n"
    )
    result = run_cli("count", str(folder), "--where", "orders >= 1", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["as_of"] == str(today - timedelta(days=1))
    assert_one_line_error(run_cli("count", str(folder), "--where", "orders >= 1", "--as-of", str(today)), 1,
                          f"is after the last activity ({today - timedelta(days=1)})")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".jsonl"])
def test_export_each_format_has_every_member(shop, tmp_path, suffix):
    out = tmp_path / f"members{suffix}"
    n = int(run_cli("count", str(shop), "--segment", "Lapsed", "--as-of", AS_OF).stdout)
    result = run_cli("export", str(shop), "--segment", "Lapsed", "--out", str(out), "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {n:,} customers" in result.stderr
    reader = {".csv": "read_csv", ".parquet": "read_parquet", ".json": "read_json", ".jsonl": "read_json"}[suffix]
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM {reader}('{out}')").fetchone()[0] == n
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}('{out}')").fetchall()]
    assert columns[0] == "customer_id" and "overdue_ratio" in columns
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_export_columns_and_empty_result(shop, tmp_path):
    out = tmp_path / "none.csv"
    result = run_cli("export", str(shop), "--where", "orders > 100000", "--out", str(out), "--columns", "orders,total_spent")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "customer_id,orders,total_spent\n"
    assert "wrote 0 customers" in result.stderr


def test_export_refuses_to_overwrite_without_force(shop, tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    result = run_cli("export", str(shop), "--where", "orders > 1", "--out", str(out))
    assert_one_line_error(result, 1, "already exists; pass --force")
    assert out.read_text() == "precious\n"
    forced = run_cli("export", str(shop), "--where", "orders > 1", "--out", str(out), "--force")
    assert forced.returncode == 0 and out.read_text().startswith("customer_id,")


@pytest.mark.parametrize("name, text", [
    ("missing/folder/out.csv", "does not exist"),
    ("out.xlsx", "cannot tell the format"),
])
def test_export_bad_targets(shop, tmp_path, name, text):
    assert_one_line_error(
        run_cli("export", str(shop), "--where", "orders > 1", "--out", str(tmp_path / name)), 1, text
    )
    assert list(tmp_path.iterdir()) == [] or not any(p.is_file() for p in tmp_path.rglob("*"))


def test_export_unknown_column(shop, tmp_path):
    result = run_cli("export", str(shop), "--where", "orders > 1", "--out", str(tmp_path / "o.csv"), "--columns", "ordrs")
    assert_one_line_error(result, 1, "unknown column 'ordrs' in --columns; did you mean 'orders'?")
    assert not (tmp_path / "o.csv").exists()


def test_export_to_stdout_writes_only_csv_there(shop, tmp_path):
    n = int(run_cli("count", str(shop), "--segment", "Lapsed", "--as-of", AS_OF).stdout)
    result = run_cli("export", str(shop), "--segment", "Lapsed", "--out", "-", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("customer_id,email,first_name,last_name,phone,orders,total_spent,")
    assert len(lines) == n + 1
    assert all(line.split(",")[0].isdigit() for line in lines[1:])
    assert [ln for ln in result.stderr.splitlines() if ln.strip()] == [
        f"wrote {n:,} customers (Lapsed, as of {AS_OF}) to stdout"]
    assert list(tmp_path.iterdir()) == []                         # no file named '-'


def test_export_to_stdout_names_what_a_shop_lacks(tiny_duckdb):
    result = run_cli("export", str(tiny_duckdb), "--where", "orders >= 1", "--out", "-", "--columns", "emial")
    assert_one_line_error(result, 1, "unknown column 'emial' in --columns; did you mean 'email'? "
                                     "(unavailable for this shop: needs customers.email)")
    assert result.stdout == ""


def test_export_to_a_pipe_closed_early_ends_quietly(shop):
    """`segtui export ... --out - | head`: the reader goes after a few bytes; segtui stops
    without a traceback or message, with the exit code of a command a closed pipe ended."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-m", "segtui.cli", "export", str(shop), "--where", "orders >= 0",
                              "--out", "-", "--as-of", AS_OF], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout.read(100).startswith(b"customer_id,")
    child.stdout.close()
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141
    assert stderr == ""


def test_export_of_a_shop_with_contacts_and_float_noise(tmp_path):
    """A hand-made shop: contact columns come right after customer_id with their text intact;
    total_spent is exact (0.1 + 0.2 and four totals adding up to 2522.7099999999996 in
    doubles); averages are rounded to the cent and ratios to 4 decimals in the CSV."""
    folder = make_csv_folder(tmp_path / "shop", {
        "orders.csv": "order_id,customer_id,ordered_at,total\n"
                      "1,1,2026-01-05 10:00:00,0.1\n2,1,2026-01-06 10:00:00,0.2\n"
                      "3,2,2026-01-07 10:00:00,482.19\n4,2,2026-01-08 10:00:00,720.32\n"
                      "5,2,2026-01-09 10:00:00,885.06\n6,2,2026-01-21 10:00:00,435.14\n",
        "customers.csv": "customer_id,email,first_name,last_name,phone\n"
                         '1,ana@example.com,Ana,"Müller, Jr.",0049170123456\n2,bo@example.com,Bo,Lee,+442079460000\n',
    })
    columns = "email,first_name,last_name,phone,total_spent,avg_order_value,overdue_ratio"
    result = run_cli("export", str(folder), "--where", "orders >= 1", "--out", "-", "--columns", columns)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "customer_id,email,first_name,last_name,phone,total_spent,avg_order_value,overdue_ratio",
        '1,ana@example.com,Ana,"Müller, Jr.",0049170123456,0.3,0.15,15.0',
        "2,bo@example.com,Bo,Lee,+442079460000,2522.71,630.68,0.0",
    ]
    every = run_cli("export", str(folder), "--where", "orders >= 1", "--out", "-").stdout.splitlines()
    assert every[0].startswith("customer_id,email,first_name,last_name,phone,orders,total_spent,avg_order_value,")
    header = every[0].split(",")
    ratio = header.index("avg_days_between_orders")
    assert every[2].split(",")[ratio] == "4.6667"                  # 14 days / 3, rounded in the CSV
    assert_one_line_error(run_cli("count", str(folder), "--where", "email = 'ana@example.com'"), 1,
                          "unknown field 'email'")                   # contacts are not in the filter language


@pytest.mark.parametrize("columns, text", [
    ("total_spnt", "unknown column 'total_spnt' in --columns; did you mean 'total_spent'?"),
    ("orders,emial", "unknown column 'emial' in --columns; did you mean 'email'?"),
    ("main_os", None),
])
def test_export_columns_typos_get_the_nearest_name(shop, tmp_path, columns, text):
    result = run_cli("export", str(shop), "--where", "orders > 1", "--out", "-", "--columns", columns, "--as-of", AS_OF)
    if text is None:   # the sample shop has events: main_os is a column
        assert result.returncode == 0 and result.stdout.startswith("customer_id,main_os\n")
        return
    assert_one_line_error(result, 1, text)
    assert result.stdout == ""


def test_fields_json_has_stats_and_availability(shop):
    result = run_cli("fields", str(shop), "--json", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["as_of"] == AS_OF
    by_name = {f["name"]: f for f in data["fields"]}
    assert by_name["orders"]["available"] and by_name["orders"]["stats"]["min"] == 0
    assert by_name["favorite_category"]["stats"]["top"]
    text = run_cli("fields", str(shop), "--as-of", AS_OF)
    assert text.returncode == 0 and "overdue_ratio" in text.stdout


def test_fields_on_orders_only_shop_reports_unavailable(tiny_duckdb):
    data = json.loads(run_cli("fields", str(tiny_duckdb), "--json").stdout)
    by_name = {f["name"]: f for f in data["fields"]}
    assert by_name["main_os"]["available"] is False and "events" in by_name["main_os"]["reason"]


def test_user_segments_override_and_broken_files(shop, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "best.sql").write_text("-- name: Best customers\n-- group: Value\norders >= 1\n")
    (folder / "broken.sql").write_text("-- name: Broken one\norders >>>= 2\n")
    (folder / "mine.sql").write_text("-- name: Mine\n-- group: Custom\nin_segment('Best customers') AND orders >= 2\n")
    rows = json.loads(run_cli("segments", str(shop), "--json", "--segments", str(folder), "--as-of", AS_OF).stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["Best customers"]["overrides_builtin"] is True
    assert by_name["Broken one"]["available"] is False and by_name["Broken one"]["broken"] is True
    assert by_name["Mine"]["count"] == int(
        run_cli("count", str(shop), "--where", "orders >= 2", "--as-of", AS_OF).stdout
    )
    assert by_name["Lapsed"]["available"]


def test_no_arguments_shows_help_and_exits_2():
    result = run_cli()
    assert result.returncode == 2
    assert "Usage" in result.stderr and "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error():
    assert_one_line_error(run_cli("cuont"), 2, "No such command")


def test_generate_refuses_existing_file_and_bad_size(tmp_path):
    out = tmp_path / "shop.duckdb"
    out.write_text("mine")
    assert_one_line_error(run_cli("generate", str(out), "--customers", "50"), 1, "exists")
    assert out.read_text() == "mine"
    assert_one_line_error(run_cli("generate", str(tmp_path / "x.duckdb"), "--customers", "0"), 2)


def test_segments_text_prints_user_strings_literally(shop, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "m.sql").write_text("-- name: [bold]VIP[/bold]\n-- group: [red]Mine\norders >= 1\n")
    result = run_cli("segments", str(shop), "--segments", str(folder), "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    assert "[bold]VIP[/bold]" in result.stdout and "[red]Mine" in result.stdout


def test_a_count_of_zero_points_out_a_value_in_another_case(shop):
    result = run_cli("count", str(shop), "--where", "main_os = 'ios'", "--as-of", AS_OF)
    assert result.returncode == 0 and result.stdout.strip() == "0"
    assert "no customer has main_os 'ios'" in result.stderr and "have 'iOS'" in result.stderr
