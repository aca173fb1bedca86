"""The command line as a user meets it: real processes, exit codes and messages, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import assert_clear_error, icsys, strict_json


def test_system_check_summarises_kent_and_medway() -> None:
    from icsys.system import DEFAULT_SYSTEM

    result = icsys("system", "check", DEFAULT_SYSTEM)
    assert result.returncode == 0, result.stderr
    assert "4 ICPs" in result.stdout and "practices" in result.stdout


def test_system_schema_is_json_schema() -> None:
    result = icsys("system", "schema")
    schema = strict_json(result.stdout)
    assert {"ics", "icp", "practice", "site"} <= set(schema["properties"])


def test_bad_system_definition(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[ics]\ncode = 'X'\n", encoding="utf-8")
    assert_clear_error(icsys("system", "check", bad), "bad.toml", "icp")
    assert_clear_error(icsys("system", "check", tmp_path / "none.toml"), "none.toml", "no such")


@pytest.mark.parametrize(("args", "words"), [
    (["--scale", "5"], ["--scale 5", "between 0.001 and 1.0"]),
    (["--scale", "0"], ["--scale 0"]),
    (["--years", "0"], ["--years 0"]),
    (["--end", "2025-13-01"], ["--end", "not a date"]),
])
def test_synth_rejects_bad_settings(tmp_path: Path, args: list[str], words: list[str]) -> None:
    db = tmp_path / "x.duckdb"
    assert_clear_error(icsys("synth", "--db", db, *args), *words)
    assert not db.exists()


def test_synth_into_missing_folder(tmp_path: Path) -> None:
    assert_clear_error(icsys("synth", "--db", tmp_path / "no" / "x.duckdb"), "does not exist")


def test_info_and_export_on_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    assert_clear_error(icsys("info", "--db", missing), "missing.duckdb", "no such store")
    assert_clear_error(icsys("export", "--db", missing, "--table", "person", "--out", tmp_path / "p.csv"),
                       "no such store")
    assert not missing.exists()


def test_non_duckdb_file_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database", encoding="utf-8")
    assert_clear_error(icsys("info", "--db", junk), "junk.duckdb")
    assert junk.read_text(encoding="utf-8") == "not a database"


def test_dictionary_written(tmp_path: Path) -> None:
    out = tmp_path / "dd.md"
    assert icsys("dictionary", "--out", out).returncode == 0
    assert "## inpatient_spell" in out.read_text(encoding="utf-8")


def test_store_locked_by_another_process(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "locked.duckdb"
    holder = duckdb.connect(str(db))
    try:
        holder.execute("CREATE TABLE t (a INTEGER)")
        assert_clear_error(icsys("info", "--db", db), "locked.duckdb", "lock")
        people = tmp_path / "p.csv"
        people.write_text("person_id\n1\n", encoding="utf-8")
        assert_clear_error(icsys("load", "--db", db, "--table", "person", people), "lock")
    finally:
        holder.close()


def test_json_output_writes_null_for_what_is_not_a_number() -> None:
    from icsys.cli.common import json_text

    text = json_text({"ppv": float("nan"), "limits": [float("inf"), -float("inf"), 1.5], "n": 3}, indent=None)
    assert text == '{"ppv": null, "limits": [null, null, 1.5], "n": 3}'
    assert strict_json(text)["n"] == 3
