# ruff: noqa: E501 -- the tables are drawn as wide as their columns
"""Escalation: indicator levels from trigger values, weighted scores banded into OPEL 1-4 per provider,
the ICS aggregated from its trusts by beds, reasons shown and a history of system status kept."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from spec_tables import build

from icsys.dataset.store import Store
from icsys.performance.escalation import (
    DEFAULT_FRAMEWORK,
    EscalationError,
    Indicator,
    escalation,
    ics_status,
    load_framework,
    provider_status,
    site_status,
    summary_lines,
)
from icsys.performance.organisations import Hierarchy
from icsys.system import load_system

HIERARCHY = Hierarchy(load_system())
TWO = """
[score]
opel_2 = 25
opel_3 = 50
opel_4 = 75

[[indicator]]
id = "handover_mean"
standard = "amb_handover_mean"
name = "Mean ambulance handover time"
weight = 20
worse = "higher"
triggers = { opel_2 = 15, opel_3 = 30, opel_4 = 45 }

[[indicator]]
id = "four_hours"
standard = "ae_4h"
name = "A&E 4-hour performance"
weight = 10
worse = "lower"
triggers = { opel_2 = 78, opel_3 = 70, opel_4 = 60 }
"""


def framework(tmp_path: Path, text: str = TWO):
    path = tmp_path / "opel.toml"
    path.write_text(text)
    return load_framework(path)


def test_level_is_the_highest_trigger_reached() -> None:
    rising = Indicator(id="h", standard="amb_handover_mean", name="h", weight=1, worse="higher",
                       triggers={"opel_2": 15, "opel_3": 30, "opel_4": 45})
    falling = Indicator(id="f", standard="ae_4h", name="f", weight=1, worse="lower",
                        triggers={"opel_2": 78, "opel_3": 70, "opel_4": 60})
    values = pd.Series([0, 14.9, 15, 30, 44.9, 45, 200, None])
    assert rising.levels(values).tolist()[:7] == [1, 1, 2, 3, 3, 4, 4]
    assert falling.levels(pd.Series([100, 78.1, 78, 70, 60.1, 60])).tolist() == [1, 1, 2, 3, 3, 4]
    assert pd.isna(rising.levels(values).iloc[7])  # no value, no level


def test_score_weighs_the_levels_and_is_banded(tmp_path: Path) -> None:
    fw = framework(tmp_path)
    measured = pd.DataFrame([
        ("amb_handover_mean", "RPA02", "2025-03-10", 50.0), ("ae_4h", "RPA02", "2025-03-10", 50.0),
        ("amb_handover_mean", "RPA02", "2025-03-11", 20.0), ("ae_4h", "RPA02", "2025-03-11", 100.0),
        ("amb_handover_mean", "RPA02", "2025-03-12", None), ("ae_4h", "RPA02", "2025-03-12", 65.0),
    ], columns=["standard", "org", "period", "value"])
    status = site_status(measured, fw, HIERARCHY).set_index("day")
    assert status.loc["2025-03-10", "score"] == pytest.approx(100) and status.loc["2025-03-10", "level"] == 4
    # handover at level 2 (weight 20 x 1/3), 4 hours at level 1: 100 x 6.67 / 30
    assert status.loc["2025-03-11", "score"] == pytest.approx(100 * 20 / 3 / 30)
    assert status.loc["2025-03-11", "level"] == 1
    # no handovers that day: the 4-hour indicator alone (level 3: 2/3) decides
    assert status.loc["2025-03-12", "score"] == pytest.approx(100 * 2 / 3) and status.loc["2025-03-12", "level"] == 3
    reasons = status.loc["2025-03-10", "reasons"]
    assert reasons == [
        {"indicator": "four_hours", "name": "A&E 4-hour performance", "value": 50.0, "level": 4, "trigger": 60.0},
        {"indicator": "handover_mean", "name": "Mean ambulance handover time", "value": 50.0, "level": 4,
         "trigger": 45.0}]


def _measured(values: dict[tuple[str, str], float], day: str = "2025-03-10") -> pd.DataFrame:
    return pd.DataFrame([(standard, org, day, v) for (standard, org), v in values.items()],
                        columns=["standard", "org", "period", "value"])


def test_one_indicator_at_opel_4_is_not_averaged_away(tmp_path: Path) -> None:
    """The bug this mends: a trust at OPEL 1 with one of its indicators at OPEL 4."""
    fw = framework(tmp_path, TWO.replace("weight = 20", "weight = 90"))
    # Medway (one site): 4 hours at 50 % (OPEL 4, weight 10), handovers 10 minutes (OPEL 1, weight 90)
    status = provider_status(_measured({("ae_4h", "RPA02"): 50.0, ("amb_handover_mean", "RPA02"): 10.0}),
                             fw, HIERARCHY).set_index("org")
    # score 100 x 10 x 3/3 / 100 = 10: banded OPEL 1, but never more than one below the worst indicator
    assert status.loc["RPA02", "score"] == pytest.approx(10) and status.loc["RPA02", "level"] == 3
    assert status.loc["RPA", "level"] == 3 and status.loc["RPA", "kind"] == "trust"
    assert [(r["indicator"], r["level"], r["site"]) for r in status.loc["RPA", "reasons"]] == [
        ("four_hours", 4, "RPA02")]
    # with the gap set to 0 the level is the worst indicator's; with 3 the score alone decides
    for gap, level in ((0, 4), (3, 1)):
        fw_gap = framework(tmp_path, TWO.replace("weight = 20", "weight = 90") + f"\n[levels]\nfloor_gap = {gap}\n")
        got = provider_status(_measured({("ae_4h", "RPA02"): 50.0, ("amb_handover_mean", "RPA02"): 10.0}),
                              fw_gap, HIERARCHY).set_index("org")
        assert got.loc["RPA", "level"] == level


def test_a_trust_follows_its_sites_and_the_ics_its_trusts(tmp_path: Path) -> None:
    fw = framework(tmp_path)
    # Maidstone (360 G&A beds) at OPEL 4 on both; Tunbridge Wells (470) at OPEL 1; Medway and Darent Valley at 1
    measured = _measured({("ae_4h", "RWF03"): 50.0, ("amb_handover_mean", "RWF03"): 50.0,
                          ("ae_4h", "RWFTW"): 95.0, ("amb_handover_mean", "RWFTW"): 10.0,
                          ("ae_4h", "RPA02"): 95.0, ("amb_handover_mean", "RPA02"): 10.0,
                          ("ae_4h", "RN707"): 95.0, ("amb_handover_mean", "RN707"): 10.0})
    providers = provider_status(measured, fw, HIERARCHY)
    by_org = providers.set_index("org")
    # the trust's score is its sites' weighted by G&A beds: 100 x 360 / 830 = 43.4 (OPEL 2 by score), but
    # its level is its worst site's, Maidstone's OPEL 4
    assert by_org.loc["RWF", "score"] == pytest.approx(100 * 360 / 830) and by_org.loc["RWF", "level"] == 4
    assert {r["site"] for r in by_org.loc["RWF", "reasons"]} == {"RWF03"}
    assert set(by_org.loc["RWF", "indicators"]) == {"RWF03", "RWFTW"}
    ics = ics_status(providers, fw, HIERARCHY).iloc[0]
    # ICS score: RWF's 43.4 x 830 beds over 830 + 540 + 430 = 20.0 (OPEL 1 by score); its worst trust is at
    # OPEL 4, so the ICS is at OPEL 3
    assert ics["score"] == pytest.approx(100 * 360 / 1800) and ics["level"] == 3
    assert ics["reasons"] == [{"provider": "RWF", "level": 4, "score": round(100 * 360 / 830, 1),
                               "indicators": ["four_hours", "handover_mean"]}]


def test_ics_is_the_mean_of_trust_scores_weighted_by_beds(tmp_path: Path) -> None:
    fw = framework(tmp_path)
    providers = pd.DataFrame([
        {"day": "2025-03-10", "org": "RPA", "kind": "trust", "score": 100.0, "level": 4, "reasons": [{"indicator": "x"}]},
        {"day": "2025-03-10", "org": "RN7", "kind": "trust", "score": 0.0, "level": 1, "reasons": []},
        {"day": "2025-03-10", "org": "RPA02", "kind": "site", "score": 0.0, "level": 1, "reasons": []},
    ])
    ics = ics_status(providers, fw, HIERARCHY).iloc[0]
    assert ics["org"] == "QKS" and ics["score"] == pytest.approx(100 * 540 / (540 + 430))  # G&A beds
    assert ics["level"] == 3
    assert ics["reasons"] == [{"provider": "RPA", "level": 4, "score": 100.0, "indicators": ["x"]}]


AE = """
  person_id | site_code | department_type | arrival_time        | departure_time
  1         | RPA02     | 1               | 2025-03-10 10:00:00 | 2025-03-10 12:00:00
  2         | RPA02     | 1               | 2025-03-10 10:00:00 | 2025-03-10 15:00:00
  3         | RN707     | 1               | 2025-03-10 10:00:00 | 2025-03-10 11:00:00
  4         | RPA02     | 1               | 2025-03-11 10:00:00 | 2025-03-11 11:00:00
"""
HANDOVERS = """
  person_id | category | call_time        | conveyed | site_code | hospital_arrival_time | handover_time       | provider_code
  1         | 2        | 2025-03-10 09:00 | true     | RPA02     | 2025-03-10 09:30:00   | 2025-03-10 10:20:00 | RYD
"""


def test_escalation_on_a_store_keeps_a_history_with_reasons(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE, ambulance_incident=HANDOVERS)
    fw = framework(tmp_path)
    status = escalation(Store.open(db, read_only=False), start=date(2025, 3, 10), end=date(2025, 3, 11), framework=fw)
    day = status[status["day"] == "2025-03-10"].set_index("org")
    # RPA02: 1 of 2 within 4 hours (50 %: OPEL 4 trigger 60) and a 50-minute handover (OPEL 4 trigger 45)
    assert day.loc["RPA02", "level"] == 4 and [r["indicator"] for r in day.loc["RPA02", "reasons"]] == [
        "four_hours", "handover_mean"]
    assert day.loc["RN707", "level"] == 1 and day.loc["RN707", "reasons"] == []
    assert day.loc["RPA02", "indicators"] == {"handover_mean": 50.0, "four_hours": 50.0}
    assert day.loc["QKS", "score"] == pytest.approx(100 * 540 / 970)
    with duckdb.connect(str(db), read_only=True) as con:
        kept = con.execute("SELECT day, org, level, reasons FROM opel_status ORDER BY day, org").fetchall()
    assert len(kept) == len(status) and ("four_hours" in kept[[k[1] for k in kept].index("RPA02")][3])
    escalation(Store.open(db, read_only=False), start=date(2025, 3, 10), end=date(2025, 3, 11), framework=fw)  # a rerun replaces the days
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM opel_status").fetchone()[0] == len(status)


def test_shipped_framework_names_its_sources_and_weights_add_up() -> None:
    fw = load_framework()
    assert sum(i.weight for i in fw.indicator) == 100
    # the framework's acute parameters the dataset can measure, by their numbers (opel.md)
    assert {i.parameter: i.standard for i in fw.indicator if i.parameter} == {
        1: "amb_handover_mean", 2: "ae_4h", 5: "ae_time_to_treatment", 6: "ae_12h", 7: "bed_occupancy",
        9: "delayed_discharge_bed_share"}
    assert all(i.provisional and i.source for i in fw.indicator) and fw.levels.provisional
    text = DEFAULT_FRAMEWORK.read_text()
    assert "OPEL) framework 2024 to 2026" in text and "SHREWD" in text
    for missing in ("3 ED all-type attendance variation", "4 majors and resuscitation", "8 % of open beds"):
        assert missing in text
    # the parameters not scored say why, in the data and in what the command prints
    assert [n.parameter for n in fw.not_scored] == [3, 4, 8]
    lines = fw.not_scored_lines()
    assert lines[0].startswith("Parameter 3 (ED all-type attendance variation) is not scored: ") and "no plan" in lines[0]
    assert "escalation beds" in lines[2] and "not the days they were opened" in lines[2]


def test_a_parameter_both_scored_and_not_scored_is_refused(tmp_path: Path) -> None:
    scored = TWO.replace('worse = "lower"', 'worse = "lower"\nparameter = 2')
    with pytest.raises(EscalationError, match=r"parameter\(s\) \[2\] are both scored by an indicator and listed"):
        framework(tmp_path, scored + '\n[[not_scored]]\nparameter = 2\nname = "4 hours"\nwhy = "x"\n')


def test_the_summary_ends_with_the_parameters_not_scored(tmp_path: Path) -> None:
    fw = framework(tmp_path, TWO + '\n[[not_scored]]\nparameter = 8\nname = "escalation beds"\nwhy = "no record"\n')
    status = pd.DataFrame([{"day": "2025-03-10", "org": "QKS", "kind": "ics", "score": 0.0, "level": 1,
                            "reasons": [], "indicators": {}},
                           {"day": "2025-03-10", "org": "RPA", "kind": "trust", "score": 0.0, "level": 1,
                            "reasons": [], "indicators": {}}])
    lines = summary_lines(status, framework=fw)
    assert lines[-1] == "Parameter 8 (escalation beds) is not scored: no record"
    assert not any("not scored" in line for line in summary_lines(status))


@pytest.mark.parametrize(("change", "expected"), [
    (("opel_4 = 75", "opel_4 = 40"), "score bands must rise"),
    (("opel_2 = 15, opel_3 = 30", "opel_2 = 35, opel_3 = 30"), "indicator 'handover_mean' (entry 1): triggers must rise"),
    (('standard = "ae_4h"', 'standard = "nope"'), "indicator 'four_hours': standard 'nope' is not in the catalogue"),
    (('standard = "ae_4h"', 'standard = "rtt_18w"'), "standard 'rtt_18w' is not measured for sites"),
    (("weight = 10", "weight = -1"), "indicator 'four_hours' (entry 2).weight"),
])
def test_a_bad_framework_is_refused_naming_the_indicator(tmp_path: Path, change: tuple[str, str],
                                                         expected: str) -> None:
    with pytest.raises(EscalationError) as caught:
        framework(tmp_path, TWO.replace(*change))
    assert expected in str(caught.value)
