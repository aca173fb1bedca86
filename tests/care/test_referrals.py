"""Referrals into the SPoA: the NHS number checked and resolved only through the re-identification store
(audited), the unmatched queue, duplicates, carers, triage into tasks due by their standards, the
accept-or-decline handshake, warnings and breaches from the scheduled job, the discharge notification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from icsys.access import open_audit
from icsys.access.reidentify import NhsNumberError, check_nhs_number
from icsys.care import demo
from icsys.care.models import Carer, Referral, Task, TaskAlert
from icsys.care.services import tick

pytestmark = pytest.mark.django_db
ASC = demo.MEDWAY_ASC


def refer(api, form, user="ada.discharge"):
    return api(user).post("/api/referrals", form)


def audit_since(n: int) -> list[dict]:
    return open_audit(settings.ICSYS_AUDIT_URL).records()[n:]


def audit_count() -> int:
    return len(open_audit(settings.ICSYS_AUDIT_URL).records())


@pytest.mark.parametrize("number, reason", [("943476591", "must be 10 digits"), ("94347659AB", "must be 10 digits"),
                                            ("9434765918", "check digit"), ("3200000015", "not in a range")])
def test_nhs_numbers_are_checked(number, reason):
    with pytest.raises(NhsNumberError, match=reason):
        check_nhs_number(number)


def test_live_and_test_ranges():
    assert check_nhs_number("401 023 2137") == "4010232137"  # England range, spaces allowed
    with pytest.raises(NhsNumberError, match="only in a demonstration"):
        check_nhs_number("9990000018")
    assert check_nhs_number("9990000018", allow_synthetic=True) == "9990000018"


def test_vera_is_referred_and_resolved_through_the_reidentification_store(api, vera_form):
    before = audit_count()
    response = refer(api, vera_form)
    assert response.status_code == 201, response.json_body
    body = response.json_body
    assert (body["person_id"], body["status"], body["source"]) == ("PDEMO0001", "received", "acute_discharger")
    assert body["recommended_services"] == ["domiciliary_care", "district_nursing", "carer_support",
                                            "social_work_assessment"]
    carer = Carer.objects.get(cared_for_id="PDEMO0001")
    assert (carer.name, carer.able_to_care, carer.needs_support) == ("Eric Hughes", False, True)
    records = audit_since(before)
    assert [(r["actor_user"], r["action"]) for r in records] == [("ada.discharge", "reidentify"),
                                                                  ("ada.discharge", "write")]
    assert records[0]["what"] == "nhs_number -> person_id (found PDEMO0001)" and records[0]["people"] == 1
    assert records[0]["purpose"] == "direct care" and records[0]["actor_organisations"] == "RPA"
    assert records[1]["destination"] == "api POST /api/referrals"


@pytest.mark.parametrize("change, field", [
    ({"nhs_number": "9990000019"}, "nhs_number"),          # wrong check digit
    ({"nhs_number": None}, "nhs_number"),
    ({"birth_date": "2099-01-01"}, "birth_date"),
    ({"source": "pharmacy"}, "source"),
    ({"recommended_services": ["massage"]}, "recommended_services"),
    ({"registered_practice": "RPA"}, "registered_practice"),  # a trust, not a practice
    ({"to_organisation": "NQV"}, "to_organisation"),  # referrals go to a SPoA
    ({"from_organisation": "NOPE1"}, "from_organisation"),
    ({"needs": ""}, "needs"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_input_names_the_field_and_saves_nothing(api, vera_form, change, field):
    form = {**vera_form, **change}
    form = {k: v for k, v in form.items() if v is not None}
    response = refer(api, form)
    assert response.status_code == 422, response.json_body
    locations = [e["loc"] for e in response.json_body["detail"]]
    assert any(field in [str(p) for p in loc] for loc in locations), locations
    assert Referral.objects.count() == 0


def test_one_cannot_refer_for_another_organisation(api, vera_form):
    response = refer(api, {**vera_form, "from_organisation": "RVV"})
    assert response.status_code == 403 and "RVV's staff" in response.json_body["detail"]
    assert Referral.objects.count() == 0


def test_an_unknown_nhs_number_waits_in_the_unmatched_queue_until_resolved(api, vera_form):
    form = {**vera_form, **{k: demo.UNKNOWN[k] for k in ("nhs_number", "given_name", "family_name", "birth_date")},
            "carers": []}
    made = refer(api, form).json_body
    assert (made["status"], made["person_id"]) == ("unmatched", None)
    spoa = api("sam.spoa")
    assert [r["id"] for r in spoa.get("/api/referrals/unmatched").json_body] == [made["id"]]
    assert spoa.post(f"/api/referrals/{made['id']}/triage",
                     {"tasks": [{"service": "reablement", "organisation": ASC}]}).status_code == 409
    still = spoa.post(f"/api/referrals/{made['id']}/resolve", {})
    assert still.status_code == 409 and "still unknown" in still.json_body["detail"]
    before = audit_count()
    resolved = spoa.post(f"/api/referrals/{made['id']}/resolve", {"register_new": True}).json_body
    assert resolved["status"] == "received" and resolved["person_id"].startswith("P")
    assert [r["action"] for r in audit_since(before)] == ["reidentify", "reidentify", "write"]
    assert spoa.get("/api/referrals/unmatched").json_body == []


def test_a_mistyped_number_is_resolved_by_the_corrected_one(api, vera_form):
    made = refer(api, {**vera_form, "nhs_number": "9990000050", "carers": []}).json_body
    assert made["status"] == "unmatched"
    resolved = api("sam.spoa").post(f"/api/referrals/{made['id']}/resolve", {"nhs_number": "9990000018"}).json_body
    assert (resolved["person_id"], resolved["status"]) == ("PDEMO0001", "received")
    # only the SPoA's coordinator resolves
    other = refer(api, {**vera_form, "nhs_number": "9990000050", "carers": []}).json_body
    assert api("ada.discharge").post(f"/api/referrals/{other['id']}/resolve", {}).status_code == 403


def test_a_second_open_referral_of_the_same_person_is_flagged_as_a_duplicate(api, vera_form):
    first = refer(api, vera_form).json_body
    second = refer(api, {**vera_form, "carers": []}).json_body
    assert (first["duplicate_of"], second["duplicate_of"]) == (None, first["id"])


def triage_vera(api, vera_form) -> tuple[int, dict[str, dict]]:
    referral = refer(api, vera_form).json_body["id"]
    carer = Carer.objects.get(cared_for_id="PDEMO0001").id
    tasks = api("sam.spoa").post(f"/api/referrals/{referral}/triage", {"tasks": [
        {"service": "social_work_assessment", "organisation": ASC},
        {"service": "domiciliary_care", "organisation": "HC06"},
        {"service": "district_nursing", "organisation": "NQV"},
        {"service": "carer_support", "organisation": ASC, "carer": carer},
        {"service": "urgent_community_response", "organisation": "NQV"},
    ]})
    assert tasks.status_code == 201, tasks.json_body
    return referral, {t["service"]: t for t in tasks.json_body}


def hours(task: dict) -> float:
    from datetime import datetime

    due, made = (datetime.fromisoformat(task[k]) for k in ("due_at", "created_at"))
    return (due - made).total_seconds() / 3600


def test_triage_makes_tasks_due_by_their_service_standards(api, vera_form):
    _, tasks = triage_vera(api, vera_form)
    assert {s: hours(t) for s, t in tasks.items()} == {
        "social_work_assessment": 24, "domiciliary_care": 48, "district_nursing": 24, "carer_support": 48,
        "urgent_community_response": 2}
    assert tasks["urgent_community_response"]["standard"] == "urgent_community_response_2h"
    assert tasks["carer_support"]["carer_id"] is not None
    assert {t["status"] for t in tasks.values()} == {"offered"}


def test_only_the_spoa_triages(api, vera_form):
    referral = refer(api, vera_form).json_body["id"]
    body = {"tasks": [{"service": "reablement", "organisation": ASC}]}
    assert api("ada.discharge").post(f"/api/referrals/{referral}/triage", body).status_code == 403
    assert api("will.social").post(f"/api/referrals/{referral}/triage", body).status_code == 404
    bad = api("sam.spoa").post(f"/api/referrals/{referral}/triage",
                               {"tasks": [{"service": "reablement", "organisation": "NOPE9"}]})
    assert bad.status_code == 422 and bad.json_body["detail"][0]["loc"] == ["body", "tasks", "0", "organisation"]
    assert Task.objects.count() == 0


def test_accept_and_decline_is_a_handshake_with_the_service(api, vera_form):
    _, tasks = triage_vera(api, vera_form)
    home = api("hana.homecare")
    dom = tasks["domiciliary_care"]["id"]
    # social care sees Vera's tasks (its own task is a relationship with her) but the handshake is home care's
    assert api("will.social").post(f"/api/tasks/{dom}/accept", {}).status_code == 403
    assert api("kim.kent").post(f"/api/tasks/{dom}/accept", {}).status_code == 404  # no relationship: not there
    accepted = home.post(f"/api/tasks/{dom}/accept", {}).json_body
    assert (accepted["status"], accepted["owner"]) == ("accepted", "hana.homecare")
    assert home.post(f"/api/tasks/{dom}/accept", {}).status_code == 409
    nursing = api("dina.nurse")
    ucr = tasks["urgent_community_response"]["id"]
    assert nursing.post(f"/api/tasks/{ucr}/decline", {"reason": ""}).status_code == 422
    declined = nursing.post(f"/api/tasks/{ucr}/decline", {"reason": "not a crisis: planned nursing instead"})
    assert declined.json_body["status"] == "declined" and declined.json_body["owner"] is None
    assert [t["id"] for t in nursing.get("/api/tasks?status=accepted").json_body] == []
    assert {t["id"] for t in api("sam.spoa").get("/api/tasks").json_body} == {t["id"] for t in tasks.values()}


def test_the_scheduled_job_warns_before_a_breach_and_records_each_breach_once(api, vera_form):
    _, tasks = triage_vera(api, vera_form)
    ucr = Task.objects.get(pk=tasks["urgent_community_response"]["id"])
    made = ucr.created_at
    assert tick(made + timedelta(minutes=89)) == {"warning": 0, "breach": 0, "late_notifications": 0}
    assert tick(made + timedelta(minutes=91)) == {"warning": 1, "breach": 0, "late_notifications": 0}
    assert tick(made + timedelta(minutes=100))["warning"] == 0  # raised once
    assert tick(made + timedelta(hours=2, seconds=1)) == {"warning": 0, "breach": 1, "late_notifications": 0}
    assert tick(made + timedelta(hours=3))["breach"] == 0
    # 21 hours: the 24-hour assessment and nursing tasks are 3 hours from due (warned at 4): two warnings
    assert tick(made + timedelta(hours=21))["warning"] == 2
    alerts = list(TaskAlert.objects.filter(task=ucr).order_by("raised_at").values_list("kind", "standard"))
    assert alerts == [("warning", "urgent_community_response_2h"), ("breach", "urgent_community_response_2h")]
    listed = {t["service"]: t for t in api("dina.nurse").get("/api/tasks").json_body}
    assert [a["kind"] for a in listed["urgent_community_response"]["alerts"]] == ["warning", "breach"]


def test_an_accepted_task_done_late_is_still_a_breach_and_a_done_one_is_not(api, vera_form):
    _, tasks = triage_vera(api, vera_form)
    done = tasks["social_work_assessment"]["id"]
    social = api("will.social")
    social.post(f"/api/tasks/{done}/accept", {})
    social.post(f"/api/tasks/{done}/complete", {"outcome": "assessed"})
    start = Task.objects.get(pk=done).created_at
    raised = tick(start + timedelta(days=30))
    assert raised["breach"] == 4  # every task but the completed assessment
    assert not TaskAlert.objects.filter(task_id=done).exists()


def test_the_discharge_notifies_the_registered_practice_within_24_hours(api, vera_form, practice):
    referral = refer(api, vera_form).json_body["id"]
    at = timezone.now() - timedelta(hours=1)
    note = api("ada.discharge").post(f"/api/referrals/{referral}/discharge", {"discharged_at": at.isoformat()})
    assert note.status_code == 201, note.json_body
    body = note.json_body
    assert body["practice"] == practice and body["late"] is False
    from datetime import datetime

    assert datetime.fromisoformat(body["due_by"]) - datetime.fromisoformat(body["discharged_at"]) == timedelta(hours=24)
    assert "Recovering from a stroke" in body["summary"]
    assert [n["referral_id"] for n in api("gita.gp").get("/api/notifications").json_body] == [referral]
    assert api("sam.spoa").get("/api/notifications").json_body == []
    assert api("ada.discharge").post(f"/api/referrals/{referral}/discharge",
                                     {"discharged_at": at.isoformat()}).status_code == 409
