"""Cohorts: each shipped definition passes its own worked examples; bad definitions are refused
with the reason; the command line lists members with reasons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ibis
import pandas as pd
import pytest

from icsys.access import open_audit
from icsys.access.audit import beside
from icsys.population.cohort import SHIPPED, CohortError, load_cohort, members

DEFINITIONS = sorted(p.stem for p in SHIPPED.glob("*.toml"))


@pytest.mark.parametrize("name", DEFINITIONS)
def test_shipped_definition_passes_its_examples(name: str) -> None:
    cohort = load_cohort(name)
    assert cohort.example, f"{name} carries no worked examples"
    for i, example in enumerate(cohort.example, start=1):
        facts = ibis.memtable(pd.DataFrame([{"person_id": i, **example.facts}]))
        found = members(cohort, facts).execute()
        assert (len(found) == 1) == example.member, f"{name}: example {i} {example.facts}"
        if example.member:
            assert found["reasons"].iloc[0], "a member is listed with the reasons"


def test_reasons_name_the_facts() -> None:
    cohort = load_cohort("frail_two_emergency_admissions")
    facts = ibis.memtable(pd.DataFrame([{"person_id": 1, "efi_category": "severe", "efi_deficits": 15,
                                         "emergency_admissions": 3}]))
    assert members(cohort, facts).execute()["reasons"].iloc[0] == (
        "severe frailty (eFI 15 deficits); 3 emergency admissions in the last 12 months")


@pytest.mark.parametrize(("text", "message"), [
    ('name = "x"\ndescription = "y"\n[[criteria]]\nactivity = "walks"\ndays = 3\nat_least = 1\nreason = "r"',
     "unknown activity 'walks'"),
    ('name = "x"\ndescription = "y"\n[[criteria]]\nactivity = "ae_attendances"\nat_least = 1\nreason = "r"',
     "needs `days`"),
    ('name = "x"\ndescription = "y"\n[[criteria]]\nmeasure = "ltc_count"\nreason = "r"', "needs a test"),
    ('name = "x"\ndescription = "y"\n[[criteria]]\nmeasure = "ltc_count"\nat_least = 2', "says in `reason`"),
    ("name = [", "not valid TOML"),
])
def test_bad_definitions_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CohortError, match=message.replace("(", r"\(").replace("`", "`")):
        load_cohort(path)


def test_cli_lists_members_to_csv(tmp_path: Path) -> None:
    db = tmp_path / "km.duckdb"
    run = lambda *a: subprocess.run([sys.executable, "-m", "icsys", *map(str, a)], capture_output=True,  # noqa: E731
                                    text=True)
    assert run("synth", "--scale", "0.01", "--years", "2", "--db", db, "--quiet").returncode == 0
    out = tmp_path / "mdt.csv"
    result = run("population", "cohort", "frail_two_emergency_admissions", "--db", db, "--as-of", "2026-03-31",
                 "--out", out)
    assert result.returncode == 0, result.stderr
    listed = pd.read_csv(out)
    assert len(listed) > 0 and set(listed["efi_category"]) <= {"moderate", "severe"}
    assert (listed["emergency_admissions"] >= 2).all()
    assert listed["reasons"].str.contains("emergency admissions in the last 12 months").all()
    # With person_measures stored for the same date the list comes from it, and is the same list.
    assert run("population", "stratify", "--db", db, "--as-of", "2026-03-31").returncode == 0
    again = tmp_path / "mdt2.csv"
    assert run("population", "cohort", "frail_two_emergency_admissions", "--db", db, "--as-of", "2026-03-31",
               "--out", again).returncode == 0
    pd.testing.assert_frame_equal(pd.read_csv(again), listed)
    # every list is audited, in the audit database beside the store (none in the store itself)
    log = [(r["actor_user"], r["actor_roles"], r["action"], r["what"], r["people"], r["destination"])
           for r in open_audit(beside(db)).records()]
    cohort = "cohort Frail with 2+ emergency admissions in 12 months as of 2026-03-31"
    assert [r[2:] for r in log if r[2] == "export"] == [("export", cohort, len(listed), str(out)),
                                                          ("export", cohort, len(listed), str(again))]
    derived = [r[3] for r in log if r[2] == "derive"]  # stratify (and the risk model it trained first)
    assert derived[-1] == "person_measures as of 2026-03-31" and len(log) == 2 + len(derived)
    assert log[0][0] and log[0][1] == "data_manager"
    bad = run("population", "cohort", "frail_two_emergency_admissions", "--db", db, "--out", tmp_path / "x.pdf")
    assert bad.returncode == 2 and ".csv or .xlsx" in bad.stderr and "Traceback" not in bad.stderr
