"""`icsys flow` as a user meets it: real processes, exit codes and messages, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import assert_clear_error, strict_json
from support import icsys as run


def icsys(*args: str | Path):
    return run("flow", *args)


def test_schema_is_json_schema_of_a_scenario() -> None:
    schema = strict_json(icsys("schema").stdout)
    assert {"scenario", "pool", "arrivals", "case_mix", "surge", "intervention"} <= set(schema["properties"])


def test_bad_scenarios_name_file_entry_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nstart = 2025-01-01\ndays = 10\n\n[[pool]]\ncode = "ward"\n'
                   'capacity = -3\n\n[[arrivals]]\nname = "walk-ins"\npool = "ward"\nper_day = 1\n'
                   'los_days = { distribution = "lognormal", mean = 3 }\n', encoding="utf-8")
    assert_clear_error(icsys("check", bad), "bad.toml", "pool 'ward' (pool[1]).capacity",
                       "arrivals 'walk-ins' (arrivals[1]).los_days.lognormal.sd")
    bad.write_text('[scenario]\nname = "x"\nstart = 2025-01-01\ndays = 10\n\n[[pool]]\ncode = "ward"\n'
                   'capacity = 3\n\n[[arrivals]]\nname = "a"\npool = "wards"\nper_day = 1\n'
                   'los_days = { distribution = "fixed", value = 3 }\n', encoding="utf-8")
    assert_clear_error(icsys("simulate", bad), "arrivals 'a': unknown pool 'wards'")
    bad.write_text("[scenario\n", encoding="utf-8")
    assert_clear_error(icsys("check", bad), "bad.toml", "not valid TOML")
    assert_clear_error(icsys("check", tmp_path / "none.toml"), "none.toml", "no such scenario")


@pytest.mark.parametrize(("args", "words"), [
    (["-n", "0"], ["--replications 0"]),
    (["--days", "0"], ["--days 0"]),
    (["--seed", "-1"], ["--seed -1"]),
    (["--report", "x.txt"], ["--report x.txt", ".md"]),
])
def test_simulate_rejects_bad_options(args: list[str], words: list[str]) -> None:
    assert_clear_error(icsys("simulate", "one_pool", *args), *words)


def test_simulate_json_and_stress_report(tmp_path: Path) -> None:
    report = tmp_path / "run.md"
    result = icsys("simulate", "one_pool", "-n", "4", "--seed", "5", "--days", "120", "--json", "--report", report)
    assert result.returncode == 0, result.stderr
    summary = strict_json(result.stdout)
    assert summary["run"]["replications"] == 4 and summary["scenario"]["days"] == 120
    assert len(summary["daily"]["dates"]) == 120
    ward = summary["pools"]["ward"]
    assert 0 < ward["occupancy_pct"]["low"] <= ward["occupancy_pct"]["mean"] <= ward["occupancy_pct"]["high"] < 100
    assert summary["measures"]["turned_away"]["mean"] > 0
    text = report.read_text(encoding="utf-8")
    for heading in ("## 1. Objectives", "## 2. Logic", "## 3. Data", "## 4. Experimentation",
                    "## 5. Implementation", "## Results", "30-day warm-up"):
        assert heading in text


def test_compare_shows_paired_differences(tmp_path: Path) -> None:
    overlay = tmp_path / "more_beds.toml"
    overlay.write_text('[scenario]\nextends = "one_pool"\nname = "Two more beds"\n\n[[capacity_change]]\n'
                       'pool = "ward"\nchange = 2\nstart = 2025-04-01\n', encoding="utf-8")
    result = icsys("compare", "one_pool", overlay, "-n", "6", "--json")
    assert result.returncode == 0, result.stderr
    out = strict_json(result.stdout)
    turned = out["differences"]["turned_away"]
    assert turned["high"] < 0  # fewer turned away, and the interval says so
    # common random numbers: the paired interval is tighter than two independent runs would give
    assert turned["high"] - turned["low"] < 2 * turned["unpaired_half_width"]
