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
from icsys.care.publish import CONTACT_ID_BASE, councils_of, publish
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
    assert done.as_dict() == {"written": 2, "packages": 0, "already": 0, "not_in_store": 0, "not_a_provider": 0,
                              "running": 0}
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
    assert again.as_dict() == {"written": 0, "packages": 0, "already": 2, "not_in_store": 0, "not_a_provider": 0,
                               "running": 0}
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
    assert done.as_dict() == {"written": 0, "packages": 0, "already": 0, "not_in_store": 2, "not_a_provider": 0,
                              "running": 0}  # the contact and the package: Vera is not in the store
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


def _packages(store: Path) -> list[dict]:
    with Store.open(store) as opened:
        rows = opened.table("social_care_package")
        return rows.filter(rows.package_id >= CONTACT_ID_BASE).order_by("package_id").to_pyarrow().to_pylist()


@pytest.mark.django_db
def test_ended_care_packages_become_social_care_packages(api, vera_form, fixture_store: Path, tmp_path: Path):
    """Home care and reablement from one referral of a person the store holds: each a social_care_package row
    once its package has ended (the council arranging it, request, start and end as local dates); the
    assessment and carer support have no table and stay out."""
    store = tmp_path / "km.duckdb"
    shutil.copyfile(fixture_store, store)
    s.reidentification().link(Auditor(DATA_MANAGER, s.settings.ICSYS_AUDIT_URL), NHS_NUMBER, STORE_PERSON,
                              why="test", allow_synthetic=True)
    made = api("ada.discharge").post("/api/referrals", {**vera_form, "nhs_number": NHS_NUMBER, "carers": []})
    asc = "E06000035-ASC"  # Medway Council's adult social care; HC06 is a Medway home-care provider
    tasks = api("sam.spoa").post(f"/api/referrals/{made.json_body['id']}/triage", {"tasks": [
        {"service": "domiciliary_care", "organisation": "HC06"}, {"service": "reablement", "organisation": asc},
        {"service": "social_work_assessment", "organisation": asc},
        {"service": "carer_support", "organisation": asc}]}).json_body
    home, reablement, *others = (t["id"] for t in tasks)
    for task, who, ends in ((home, "hana.homecare", True), (reablement, "will.social", False),
                            *((t, "will.social", True) for t in others)):
        assert api(who).post(f"/api/tasks/{task}/accept", {}).status_code == 200
        assert api(who).post(f"/api/tasks/{task}/complete",
                             {"outcome": "package set", "weeks": 6, "end_episode": ends}).status_code == 200
    # referred on 9 March 2026 (GMT); home care started 30 March 23:30 UTC = 31 March 00:30 BST, ended 11 May
    m.Referral.objects.filter(pk=made.json_body["id"]).update(created_at=datetime(2026, 3, 9, 16, 0, tzinfo=UTC))
    m.Episode.objects.filter(task_id=home).update(started_at=datetime(2026, 3, 30, 23, 30, tzinfo=UTC),
                                                  ended_at=datetime(2026, 5, 11, 10, 0, tzinfo=UTC))
    m.Episode.objects.filter(task_id=reablement).update(started_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    auditor = Auditor(DATA_MANAGER, beside(store))

    first = publish(store, auditor, PROVIDERS)
    assert first.as_dict() == {"written": 0, "packages": 1, "already": 0, "not_in_store": 0, "not_a_provider": 0,
                               "running": 1}  # reablement is still running
    assert _packages(store) == [{"package_id": CONTACT_ID_BASE + home, "person_id": 17, "council_code": "E06000035",
                                 "service_type": "domiciliary", "request_date": date(2026, 3, 9),
                                 "start_date": date(2026, 3, 31), "end_date": date(2026, 5, 11),
                                 "weekly_hours": None, "care_home_code": None}]
    [record] = [r for r in open_audit(beside(store)).records() if r["what"].startswith("social_care_package")]
    assert (record["action"], record["people"], record["what"]) == \
        ("load", 1, "social_care_package +1 rows from the care service's ended care packages")

    assert api("will.social").post(f"/api/tasks/{reablement}/complete",
                                   {"outcome": "independent again", "end_episode": True}).status_code == 200
    m.Episode.objects.filter(task_id=reablement).update(ended_at=datetime(2026, 3, 24, 12, 0, tzinfo=UTC))
    second = publish(store, auditor, PROVIDERS)
    assert second.as_dict() == {"written": 0, "packages": 1, "already": 1, "not_in_store": 0, "not_a_provider": 0,
                                "running": 0}
    assert [(r["service_type"], r["start_date"], r["end_date"]) for r in _packages(store)] == \
        [("domiciliary", date(2026, 3, 31), date(2026, 5, 11)), ("reablement", date(2026, 3, 10), date(2026, 3, 24))]


def test_each_council_arranges_its_packages():
    councils = councils_of()
    assert councils["E06000035-ASC"] == "E06000035" and councils["E10000016-ASC"] == "E10000016"
    assert councils["HC06"] == "E06000035" and councils["HC01"] == "E10000016"  # the definition's providers
