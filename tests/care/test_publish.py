"""Tasks done in the care service feed the standards they belong to: a 2-hour urgent community response is
measured (performance standard ucr_2h) from its task, referral to contact, once published into the store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from icsys.access import Actor, Auditor, open_audit
from icsys.access.audit import beside
from icsys.care import models as m
from icsys.care import services as s
from icsys.care.publish import CONTACT_ID_BASE, publish
from icsys.dataset.store import Store
from icsys.performance.measure import measure_store

STORE_PERSON = "17"  # a person of the fixture store: the re-identification store links the referral to them
NHS_NUMBER = "9990000700"
PROVIDERS = {"NQV", "NL3", "RYY"}  # the fixture store's community providers
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
DATA_MANAGER = Actor("dm", ("data_manager",), authentication="os-user")


def ucr_march_nqv(store: Path) -> tuple[float, float]:
    with Store.open(store) as opened:
        rows = measure_store(opened, standards=["ucr_2h"], org="NQV", period="month", start=MARCH[0], end=MARCH[1],
                             workers=1)
    row = rows[(rows.org == "NQV") & (rows.period.astype(str).str.startswith("2026-03"))]
    return (float(row.numerator.sum()), float(row.denominator.sum())) if len(row) else (0.0, 0.0)


def ucr_task(api, vera_form, minutes: int, referred: datetime) -> int:
    """Referred by the discharger, triaged by the SPoA to Medway Community Healthcare's 2-hour response, accepted
    and completed by its nurse (the team with the patient): the journey of a UCR task through the API. The
    times are then moved into the store's period (the fixture store covers 2023-04 to 2026-03)."""
    made = api("ada.discharge").post("/api/referrals", {**vera_form, "nhs_number": NHS_NUMBER, "carers": [],
                                                        "recommended_services": ["urgent_community_response"]})
    assert made.status_code == 201, made.json_body
    tasks = api("sam.spoa").post(f"/api/referrals/{made.json_body['id']}/triage",
                                 {"tasks": [{"service": "urgent_community_response", "organisation": "NQV"}]})
    task = tasks.json_body[0]["id"]
    assert api("dina.nurse").post(f"/api/tasks/{task}/accept", {}).status_code == 200
    done = api("dina.nurse").post(f"/api/tasks/{task}/complete", {"outcome": "seen at home"})
    assert done.status_code == 200, done.json_body
    m.Task.objects.filter(pk=task).update(created_at=referred, completed_at=referred + timedelta(minutes=minutes))
    m.Referral.objects.filter(pk=made.json_body["id"]).update(status="closed")  # the next one is not a duplicate
    return task


@pytest.mark.django_db
def test_a_completed_ucr_task_is_measured_by_ucr_2h(api, vera_form, fixture_store: Path, tmp_path: Path):
    store = tmp_path / "km.duckdb"
    shutil.copyfile(fixture_store, store)
    s.reidentification().link(Auditor(DATA_MANAGER, s.settings.ICSYS_AUDIT_URL), NHS_NUMBER, STORE_PERSON,
                              why="test", allow_synthetic=True)
    before = ucr_march_nqv(store)
    assert before == (0.0, 0.0)  # the fixture's last NQV urgent response was referred in October 2025
    # 09:00 and 14:00 UTC on 10 March 2026 (GMT: the same clock time in the store)
    hit = ucr_task(api, vera_form, 95, datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    ucr_task(api, vera_form, 150, datetime(2026, 3, 10, 14, 0, tzinfo=UTC))  # 2.5 hours: not within 2
    auditor = Auditor(DATA_MANAGER, beside(store))
    done = publish(store, auditor, PROVIDERS)
    assert done.as_dict() == {"written": 2, "already": 0, "not_in_store": 0, "not_a_provider": 0}
    after = ucr_march_nqv(store)
    assert after == (1.0, 2.0)  # one within 2 hours, of two referrals: 50 %

    with Store.open(store) as opened:
        cc = opened.table("community_contact")
        row = cc.filter(cc.contact_id == CONTACT_ID_BASE + hit).to_pyarrow().to_pylist()[0]
    assert (row["person_id"], row["provider_code"], row["service"]) == (17, "NQV", "urgent_community_response")
    assert (row["referral_time"], row["contact_time"]) == (datetime(2026, 3, 10, 9, 0), datetime(2026, 3, 10, 10, 35))
    [record] = [r for r in open_audit(beside(store)).records() if r["what"].startswith("community_contact")]
    assert (record["action"], record["people"], record["destination"]) == ("load", 1, str(store))

    again = publish(store, auditor, PROVIDERS)  # each task once
    assert again.as_dict() == {"written": 0, "already": 2, "not_in_store": 0, "not_a_provider": 0}
    assert ucr_march_nqv(store) == after


@pytest.mark.django_db
def test_people_the_store_does_not_hold_and_other_services_stay_out(api, vera_form, fixture_store: Path,
                                                                     tmp_path: Path):
    store = tmp_path / "km.duckdb"
    shutil.copyfile(fixture_store, store)
    made = api("ada.discharge").post("/api/referrals", {**vera_form, "carers": []})  # Vera: PDEMO0001
    tasks = api("sam.spoa").post(f"/api/referrals/{made.json_body['id']}/triage",
                                 {"tasks": [{"service": "urgent_community_response", "organisation": "NQV"},
                                            {"service": "domiciliary_care", "organisation": "HC06"}]}).json_body
    for t, who in zip(tasks, ("dina.nurse", "hana.homecare"), strict=True):
        api(who).post(f"/api/tasks/{t['id']}/accept", {})
        api(who).post(f"/api/tasks/{t['id']}/complete", {"outcome": "done"})
    size = store.stat().st_size
    done = publish(store, Auditor(DATA_MANAGER, beside(store)), PROVIDERS)
    assert done.as_dict() == {"written": 0, "already": 0, "not_in_store": 1, "not_a_provider": 0}
    assert store.stat().st_size == size  # nothing to write: the store is not rewritten


@pytest.mark.django_db
def test_only_a_data_manager_publishes(fixture_store: Path, tmp_path: Path):
    from icsys.access.policy import AccessDenied

    store = tmp_path / "km.duckdb"
    shutil.copyfile(fixture_store, store)
    nurse = Actor("dina", ("clinician",), organisations=("NQV",), authentication="os-user")
    with pytest.raises(AccessDenied, match="load"):
        publish(store, Auditor(nurse, beside(store)), PROVIDERS)


def test_the_command_names_a_missing_store(tmp_path: Path):
    from test_served import clean_env

    result = subprocess.run([sys.executable, "-m", "icsys", "care", "publish", "--db", str(tmp_path / "care.sqlite"),
                             "--store", str(tmp_path / "none.duckdb")], env=clean_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "none.duckdb: no such store" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "care.sqlite").exists()
