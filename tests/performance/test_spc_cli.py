"""`icsys performance spc` as a user meets it: real processes, JSON out, and bad files or options refused
with the file, row and column named, exit status 2 and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import assert_clear_error, strict_json
from support import icsys as run

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "spc_reference.json").read_text())["charts"]


def icsys(*args: str | Path):
    return run("performance", "spc", *args)


def spc_json(*args: str | Path) -> dict:
    result = icsys(*args, "--json")
    assert result.returncode == 0, result.stderr
    return strict_json(result.stdout)


def test_json_has_a_row_per_point_the_icons_and_the_settings() -> None:
    case = REF["ae_england_performance_baseline_12"]
    data = spc_json(DATA / case["file"], "--baseline", "12", "--target", "0.95", "--preset", "nhsr")
    assert len(data["points"]) == 36 and data["points"][0]["period"] == "2016-04-01"
    first = data["points"][0]
    assert (first["mean"], first["lpl"], first["upl"]) == pytest.approx(
        tuple(case["limits"][0][k] for k in ("mean", "lpl", "upl")), rel=1e-13)
    assert [p["special_cause"] for p in data["points"]] == case["point_types"]
    assert data["variation"] == "concern_low" and data["assurance"] == "consistently_fail"
    assert data["settings"]["preset"] == "nhsr" and data["settings"]["baseline"] == 12
    assert data["settings"]["target"] == 0.95 and data["trial"] is False  # nhsr: trial only below 12 points
    assert data["points"][9]["rules"] == ["outside_limits"]


def test_rebase_and_no_screen() -> None:
    case = REF["ae_england_attendances_rebased"]
    data = spc_json(DATA / case["file"], "--rebase", "2017-04-01")
    means = sorted({p["mean"] for p in data["points"]})
    assert means == pytest.approx(sorted(x["mean"] for x in case["limits"]), rel=1e-13)
    screened = spc_json(DATA / "spc_ae_rl4_other_attendances.csv")
    unscreened = spc_json(DATA / "spc_ae_rl4_other_attendances.csv", "--no-screen")
    assert unscreened["points"][0]["upl"] > screened["points"][0]["upl"]
    assert unscreened["settings"]["screen"] is False


def test_preset_and_set_change_the_treatments() -> None:
    data = spc_json(DATA / "spc_rnorm20.csv", "--preset", "mdc", "--set", "shift_length=6",
                    "--set", "trend_on_tie=skip", "--improvement", "decrease")
    s = data["settings"]
    assert (s["preset"], s["screen"], s["shift_length"], s["trend_on_tie"], s["improvement"]) == (
        "mdc", False, 6, "skip", "decrease")


def test_screen_shows_a_table_and_the_icons() -> None:
    result = icsys(DATA / "spc_ae_england_attendances.csv", "--target", "1900000")
    assert result.returncode == 0, result.stderr
    assert "2019-03-01" in result.stdout and "2,000,539" in result.stdout
    assert "variation: common_cause" in result.stdout and "assurance: hit_and_miss" in result.stdout


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "words"), [
    ("period,value\n2024-01-01,5\n2024-02-01,abc\n", ["data.csv", "row 3", "column value", "'abc'"]),
    ("period,amount\n2024-01-01,5\n", ["data.csv", "no column 'value'", "amount"]),
    ("", ["data.csv", "empty file"]),
    ("period,value\n", ["data.csv", "0 point(s)", "at least 2"]),
    ("period,value\n2024-01-01,5\n", ["1 point(s)"]),
    ("period,value\n2024-01-01,5\n2024-02-01,6\n2024-01-01,7\n", ["row 4", "column period", "repeats row 2"]),
    ("period,value\n2024-01-01,5\n2024-13-01,6\n", ["row 3", "column period", "'2024-13-01'", "not a date"]),
    ("period,value\n2024-01-01,5\n,6\n", ["row 3", "column period", "empty"]),
    ("period,value\n2024-01-01,5\n2024-02-01,\n", ["row 3", "column value", "empty"]),
    ("period,value\n2024-01-01,5\n2024-02-01,nan\n", ["row 3", "not a finite number"]),
])
def test_bad_files_are_refused_with_file_row_and_column(tmp_path: Path, text: str, words: list[str]) -> None:
    assert_clear_error(icsys(write(tmp_path, text)), *words)


def test_a_month_period_and_extra_columns_are_read(tmp_path: Path) -> None:
    text = "org,period,value\nX,2024-01,5\nX,2024-02,6\nX,2024-03,5\n"
    data = spc_json(write(tmp_path, text))
    assert [p["period"] for p in data["points"]] == ["2024-01-01", "2024-02-01", "2024-03-01"]


@pytest.mark.parametrize(("args", "words"), [
    (["--improvement", "up"], ["--improvement", "increase, decrease or neutral"]),
    (["--preset", "excel"], ["preset 'excel'", "default, nhsr, mdc"]),
    (["--set", "colour=red"], ["--set 'colour=red'", "shift_length"]),
    (["--set", "shift_length=seven"], ["whole number"]),
    (["--set", "screen=maybe"], ["true or false"]),
    (["--set", "shift_length=1"], ["shift_length 1"]),
    (["--rebase", "April"], ["--rebase 'April'", "YYYY-MM-DD"]),
    (["--rebase", "2030-01-01"], ["after the last period"]),
    (["--baseline", "1"], ["baseline 1"]),
    (["--target", "high"], ["--target", "number"]),
])
def test_bad_options_are_refused(args: list[str], words: list[str]) -> None:
    assert_clear_error(icsys(DATA / "spc_rnorm20.csv", *args), *words)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert_clear_error(icsys(tmp_path / "nope.csv"), "nope.csv")
