"""Bad input is normal input: every case answers with one line, the right exit code, no
traceback, no partial file, and the user's files byte-for-byte unchanged.

Each case builds what it needs in tmp_path and goes through the real command line.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from conftest import (
    TINY_ORDERS, assert_one_line_error, make_csv_folder, make_duckdb, run_cli, small_tmpfs, tree_digest,
)


@pytest.fixture(scope="module")
def shop_file(tmp_path_factory) -> Path:
    """A small generated shop, copied per test so that each one checks its own bytes."""
    from segtui.core.generate import generate

    path = tmp_path_factory.mktemp("gen") / "shop.duckdb"
    generate(path, customers=400, seed=3)
    return path


@pytest.fixture
def shop(shop_file, tmp_path) -> Path:
    copy = tmp_path / "shop" / "shop.duckdb"
    copy.parent.mkdir()
    shutil.copy2(shop_file, copy)
    return copy


def unchanged(path: Path):
    """Context: assert every file under path is byte-identical afterwards."""
    before = tree_digest(path)

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            assert tree_digest(path) == before, f"{path} changed"

    return _Guard()


def only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- sources -------------------------------------------------------------------------------

def test_missing_path(tmp_path):
    assert_one_line_error(run_cli("count", str(tmp_path / "nope.duckdb"), "--where", "orders > 1"), 1,
                          "no such file or folder")


def test_directory_without_tables(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with unchanged(tmp_path):
        assert_one_line_error(run_cli("check", str(tmp_path)), 1, "has no .csv or .parquet files")


def test_text_file(tmp_path):
    f = tmp_path / "shop.duckdb"
    f.write_text("name,value\n" * 100)
    with unchanged(tmp_path):
        assert_one_line_error(run_cli("check", str(f)), 1, "is not a DuckDB database")


def test_truncated_duckdb_file(shop, tmp_path):
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(shop.read_bytes()[:20000])
    with unchanged(cut):
        assert_one_line_error(run_cli("count", str(cut), "--where", "orders > 1"), 1, "damaged or truncated")


def test_corrupt_header(shop):
    data = bytearray(shop.read_bytes())
    data[12:20] = (999999).to_bytes(8, "little")  # the storage version, under the header checksum
    shop.write_bytes(bytes(data))
    with unchanged(shop):
        assert_one_line_error(run_cli("check", str(shop)), 1, "damaged or truncated")


def test_empty_database(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    with unchanged(db):
        assert_one_line_error(run_cli("check", str(db)), 1, "no 'orders' table")


def test_no_orders_table(tmp_path):
    db = make_duckdb(tmp_path / "s.duckdb", {"sales": TINY_ORDERS})
    with unchanged(db):
        line = assert_one_line_error(run_cli("count", str(db), "--where", "orders > 1"), 1, "found: sales")
    assert "[tables.orders] from =" in line


def test_missing_required_column(tmp_path):
    db = make_duckdb(tmp_path / "s.duckdb", {"orders": "SELECT 1 AS customer_id, TIMESTAMP '2026-01-01' AS ordered_at"})
    assert_one_line_error(run_cli("check", str(db)), 1, "has no column total")


def test_empty_csv_file(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {"orders.csv": ""})
    with unchanged(folder):
        assert_one_line_error(run_cli("count", str(folder), "--where", "orders > 1"), 1, "orders.csv")


def test_header_only_csv(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {"orders.csv": "customer_id,ordered_at,total\n"})
    assert_one_line_error(run_cli("count", str(folder), "--where", "orders > 1"), 1, "not usable: the orders table is empty")


def test_text_totals_that_are_numbers_work(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {
        "orders.csv": 'customer_id,ordered_at,total\n1,2026-01-01,"12.50"\n1,2026-02-01,"7.50"\n',
    })
    result = run_cli("count", str(folder), "--where", "total_spent = 20")
    assert result.returncode == 0 and result.stdout.strip() == "1"


def test_totals_that_are_not_numbers(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {"orders.csv": "customer_id,ordered_at,total\n1,2026-01-01,abc\n2,2026-01-02,n/a\n"})
    with unchanged(folder):
        assert_one_line_error(run_cli("count", str(folder), "--where", "orders > 0"), 1,
                              "not usable: no order has a readable total")


def test_dates_that_are_not_dates(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {"orders.csv": "customer_id,ordered_at,total\n1,someday,3\n2,later,4\n"})
    assert_one_line_error(run_cli("count", str(folder), "--where", "orders > 0"), 1,
                          "not usable: no order has a readable ordered_at")


def test_null_customer_ids_are_reported_and_ignored(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {"orders.csv": "customer_id,ordered_at,total\n,2026-01-01,3\n7,2026-01-02,4\n"})
    assert run_cli("count", str(folder), "--where", "orders >= 1").stdout.strip() == "1"
    assert "NULL customer_id" in run_cli("check", str(folder)).stdout


def test_negative_totals_are_reported_and_summed(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {"orders.csv": "customer_id,ordered_at,total\n7,2026-01-01,10\n7,2026-01-02,-4\n"})
    assert run_cli("count", str(folder), "--where", "total_spent = 6").stdout.strip() == "1"
    assert "negative total" in run_cli("check", str(folder)).stdout


def test_orders_after_as_of_are_ignored(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {"orders.csv": "customer_id,ordered_at,total\n7,2026-01-01,10\n7,2026-03-01,5\n"})
    result = run_cli("count", str(folder), "--where", "orders = 1", "--as-of", "2026-02-01")
    assert result.stdout.strip() == "1"


def test_as_of_before_all_data(shop):
    assert_one_line_error(run_cli("count", str(shop), "--where", "orders > 1", "--as-of", "1999-01-01"), 1,
                          "is before the first order")


def test_as_of_not_a_date(shop):
    assert_one_line_error(run_cli("count", str(shop), "--where", "orders > 1", "--as-of", "yesterday"), 2,
                          "use YYYY-MM-DD")


def test_duplicate_order_ids_are_reported(tmp_path):
    folder = make_csv_folder(tmp_path / "s", {
        "orders.csv": "order_id,customer_id,ordered_at,total\n1,7,2026-01-01,10\n1,7,2026-01-01,10\n2,8,2026-01-02,5\n",
    })
    assert "duplicate order_id" in run_cli("check", str(folder)).stdout
    assert run_cli("count", str(folder), "--where", "orders = 1").stdout.strip() == "2"


def test_unicode_and_very_long_customer_ids_round_trip(tmp_path):
    long_id = "ü" * 5000
    folder = make_csv_folder(tmp_path / "s", {
        "orders.csv": f"customer_id,ordered_at,total\nкатя-😀,2026-01-01,10\n{long_id},2026-01-02,5\n",
    })
    out = tmp_path / "out.csv"
    result = run_cli("export", str(folder), "--where", "orders >= 1", "--out", str(out), "--columns", "orders")
    assert result.returncode == 0, result.stderr
    ids = {r[0] for r in duckdb.connect().execute(f"SELECT customer_id FROM read_csv('{out}')").fetchall()}
    assert ids == {"катя-😀", long_id}


# --- mapping files -------------------------------------------------------------------------

def test_mapping_syntax_error(shop):
    (shop.parent / "segtui.toml").write_text("[tables.orders\ncustomer_id = 'x'\n")
    with unchanged(shop.parent):
        assert_one_line_error(run_cli("check", str(shop)), 1, "not valid TOML")


def test_mapping_unknown_column(shop):
    (shop.parent / "segtui.toml").write_text('[tables.orders]\ntotal = "amount_eur"\n')
    assert_one_line_error(run_cli("check", str(shop)), 1, "tables.orders.total = 'amount_eur' does not work")


# --- filters and segments ------------------------------------------------------------------

@pytest.mark.parametrize("expr, text", [
    ("ordrs > 1", "did you mean 'orders'?"),
    ("orders > 1; DROP TABLE orders", "';' is not allowed"),
    ("read_csv('/etc/passwd') IS NOT NULL", "read_csv"),
    ("ATTACH 'x.db' AS x", "not allowed"),
    ("COPY orders TO 'x.csv'", "not allowed"),
    ("PRAGMA database_list", "not allowed"),
    ("orders > (SELECT count(*) FROM orders)", "subqueries are not allowed"),
    ("orders IN (SELECT 1)", "IN needs a list of values"),
    ("main.orders > 1", "qualified name"),
])
def test_filter_refusals(shop, expr, text):
    with unchanged(shop.parent):
        assert_one_line_error(run_cli("count", str(shop), "--where", expr), 1, text)


def test_trailing_comment_is_harmless(shop):
    plain = run_cli("count", str(shop), "--where", "orders > 1")
    commented = run_cli("count", str(shop), "--where", "orders > 1 -- ; DROP TABLE orders")
    assert commented.returncode == 0 and commented.stdout == plain.stdout


def test_segment_file_with_syntax_error(shop, tmp_path):
    folder = tmp_path / "segs"
    folder.mkdir()
    (folder / "bad.sql").write_text("-- name: Bad\norders >>= 1\n")
    assert_one_line_error(run_cli("count", str(shop), "--segment", "Bad", "--segments", str(folder)), 1, "is broken")
    assert run_cli("count", str(shop), "--segment", "Lapsed", "--segments", str(folder)).returncode == 0


def test_segment_cycle(shop, tmp_path):
    folder = tmp_path / "segs"
    folder.mkdir()
    (folder / "a.sql").write_text("-- name: A\nin_segment('B') AND orders > 1\n")
    (folder / "b.sql").write_text("-- name: B\nin_segment('A')\n")
    assert_one_line_error(run_cli("count", str(shop), "--segment", "A", "--segments", str(folder)), 1, "segment cycle")


def test_segments_folder_missing(shop, tmp_path):
    assert_one_line_error(run_cli("segments", str(shop), "--segments", str(tmp_path / "none")), 1,
                          "segments folder not found")


def test_saved_segments_folder_not_writable(tmp_path):
    from segtui.core.segments import save_segment
    from segtui.errors import SegmentError

    blocker = tmp_path / "segments"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(SegmentError) as info:
        save_segment(blocker, "Mine", "Custom", "Mine.", "orders > 1")
    assert "\n" not in str(info.value)
    assert blocker.read_text() == "a file where the folder should be"


# --- export targets ------------------------------------------------------------------------

def test_export_folder_missing(shop, tmp_path):
    assert_one_line_error(run_cli("export", str(shop), "--where", "orders > 1", "--out", str(tmp_path / "no" / "x.csv")),
                          1, "does not exist")


def test_export_folder_not_writable(shop, tmp_path, monkeypatch):
    from segtui.core import export

    monkeypatch.setattr(export.os, "access", lambda *a, **k: False)  # root ignores chmod; ask as a user would
    with pytest.raises(export.ExportError, match="permission denied"):
        export.check_target(tmp_path / "x.csv", force=False)


def test_export_path_exists(shop, tmp_path):
    out = tmp_path / "x.parquet"
    out.write_bytes(b"keep me")
    assert_one_line_error(run_cli("export", str(shop), "--where", "orders > 1", "--out", str(out)), 1, "--force")
    assert out.read_bytes() == b"keep me"


def test_export_path_is_a_folder(shop, tmp_path):
    assert_one_line_error(run_cli("export", str(shop), "--where", "orders > 1", "--out", str(tmp_path)), 1, "is a folder")


def test_export_disk_full(shop, tmp_path):
    with small_tmpfs(tmp_path / "small", "32k") as small:
        result = run_cli("export", str(shop), "--where", "orders >= 0", "--out", str(small / "all.csv"))
        assert_one_line_error(result, 1, "could not write")
        assert only_files(small) == []


def test_export_failure_inside_duckdb_leaves_nothing(tmp_path):
    from segtui.core.export import export_members
    from segtui.errors import ExportError

    con = duckdb.connect()
    con.execute("CREATE TABLE customer_features AS SELECT range AS customer_id, 1 / 0 AS x FROM range(3)")
    con.execute("CREATE MACRO boom() AS error('disk on fire')")
    with pytest.raises(ExportError, match="could not write .*disk on fire"):
        export_members(con, "boom() IS NULL", tmp_path / "x.csv")
    assert only_files(tmp_path) == []


# --- interrupts ----------------------------------------------------------------------------

def _default_sigint() -> None:
    """Runs in the child before exec. A child inherits an ignored SIGINT (pytest started as a
    background job or under nohup), and Python then installs no KeyboardInterrupt handler: the
    Ctrl-C these tests send would be dropped and the command would finish as if never stopped."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupted(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, preexec_fn=_default_sigint)


def test_ctrl_c_during_export(shop, tmp_path):
    """SIGINT arrives after COPY wrote the temp file, just before the rename."""
    out = tmp_path / "out.csv"
    script = f"""
        import os, signal, sys
        from segtui.core import export
        real_replace = export.os.replace
        def replace(a, b):
            os.kill(os.getpid(), signal.SIGINT)
            real_replace(a, b)
        export.os.replace = replace
        from segtui.cli import main
        sys.argv = ["segtui", "export", {str(shop)!r}, "--where", "orders >= 0", "--out", {str(out)!r}]
        main()
    """
    with unchanged(shop.parent):
        result = _interrupted(script, tmp_path)
    assert_one_line_error(result, 130, "interrupted")
    assert only_files(tmp_path) == ["shop"]


def test_ctrl_c_during_feature_building(shop, tmp_path):
    """SIGINT lands while the feature queries run: a timer fires it from another thread."""
    script = f"""
        import os, signal, sys, threading
        from segtui.core.features.build import FeatureBuilder
        real_ensure = FeatureBuilder.ensure
        def ensure(self, fields=None, progress=None, **options):
            def fire():
                os.kill(os.getpid(), signal.SIGINT)
            return real_ensure(self, fields, lambda step, fraction: fraction > 0.3 and threading.Timer(0.005, fire).start(),
                               **options)
        FeatureBuilder.ensure = ensure
        from segtui.cli import main
        sys.argv = ["segtui", "count", {str(shop)!r}, "--where", "orders >= 0"]
        main()
    """
    result = _interrupted(script, tmp_path)
    assert_one_line_error(result, 130, "interrupted")
    assert result.stdout == ""


# --- locks ---------------------------------------------------------------------------------

def test_database_locked_by_a_writer(shop, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(shop)!r}); "
         "c.execute('CREATE TABLE scratch AS SELECT 1 AS x'); print('ok', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        line = assert_one_line_error(run_cli("count", str(shop), "--where", "orders >= 1"), 1, "locked by another program")
        assert "--snapshot" in line
        private_tmp = tmp_path / "tmp"
        private_tmp.mkdir()
        snap = run_cli("count", str(shop), "--where", "orders >= 1", "--snapshot", env={"TMPDIR": str(private_tmp)})
        assert snap.returncode == 0, snap.stderr
        assert int(snap.stdout) > 0 and "snapshot" in snap.stderr
        assert list(private_tmp.iterdir()) == [], "the snapshot copy was left behind"
    finally:
        holder.kill()
        holder.wait()


def test_generate_over_existing_file(tmp_path):
    out = tmp_path / "mine.duckdb"
    out.write_bytes(b"precious")
    assert_one_line_error(run_cli("generate", str(out), "--customers", "10"), 1, "--force")
    assert out.read_bytes() == b"precious"
