"""NHS Continuing Healthcare as seed 004 describes it: a checklist; a positive one starts 28 days to a decision
(the standard chc_decision_28d, care/standards.toml) and offers the assessment, at home or in a placement under
Discharge to Assess, not in hospital but by exception; the decision carries the personal health budget."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from icsys.care.models import ChcCase, Task, User
from icsys.care.standards import standard_for

pytestmark = pytest.mark.django_db
VERA = "PDEMO0001"
HOME = {"outcome": "positive", "organisation": "NQV", "assessment_place": "home"}


def checklist(api, days_ago: float, **extra):
    at = (timezone.now() - timedelta(days=days_ago)).isoformat()
    return api("will.social").post(f"/api/people/{VERA}/chc", {**HOME, "checklist_at": at, **extra})


def test_the_standard_is_28_days_from_the_checklist():
    standard = standard_for("chc_assessment")
    assert (standard.code, standard.hours) == ("chc_decision_28d", 28 * 24)


def test_a_positive_checklist_offers_the_assessment_at_home_due_in_28_days(api, vera):
    made = checklist(api, 3)
    assert made.status_code == 201, made.json_body
    case = made.json_body
    at = datetime.fromisoformat(case["checklist_at"])
    assert datetime.fromisoformat(case["decision_due_by"]) - at == timedelta(days=28)
    task = Task.objects.get(pk=case["task_id"])
    assert (task.service, task.organisation_id, task.status, task.standard) == \
        ("chc_assessment", "NQV", "offered", "chc_decision_28d")
    assert task.due_at - task.created_at == timedelta(days=28)
    decided = api("dina.nurse").post(f"/api/chc/{case['id']}/decision", {
        "decision": "eligible", "personal_health_budget": {"status": "accepted", "weekly_amount": "412.50"}})
    assert decided.status_code == 200, decided.json_body
    out = decided.json_body
    assert (out["decision"], out["decision_late"], out["phb_status"], out["phb_weekly_amount"]) == \
        ("eligible", False, "accepted", "412.50")
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("completed", "CHC eligible")
    again = api("dina.nurse").post(f"/api/chc/{case['id']}/decision", {"decision": "not_eligible"})
    assert again.status_code == 409 and "decided already" in again.json_body["detail"]


def test_a_decision_after_28_days_is_late(api, vera):
    case = checklist(api, 30).json_body  # due two days ago
    decided = api("dina.nurse").post(f"/api/chc/{case['id']}/decision", {"decision": "not_eligible"})
    assert decided.status_code == 200 and decided.json_body["decision_late"] is True


@pytest.mark.parametrize(("extra", "field"), [
    ({"assessment_place": "hospital"}, "hospital_reason"),  # Discharge to Assess: hospital only with a reason
    ({"assessment_place": None}, "assessment_place"),
    ({"assessment_place": "ward"}, "assessment_place"),
    ({"organisation": "NOWHERE"}, "organisation"),
    ({"checklist_at": "2099-01-01T10:00:00Z"}, "checklist_at"),
])
def test_bad_checklists_name_the_field_and_save_nothing(api, vera, extra, field):
    before = (ChcCase.objects.count(), Task.objects.count())
    response = api("will.social").post(f"/api/people/{VERA}/chc", {**HOME, **extra})
    assert response.status_code == 422 and field in response.content.decode(), response.content
    assert (ChcCase.objects.count(), Task.objects.count()) == before


def test_hospital_with_its_reason_and_a_negative_checklist(api, vera):
    hospital = checklist(api, 1, assessment_place="hospital", hospital_reason="end of life: cannot be moved")
    assert hospital.status_code == 201 and hospital.json_body["hospital_reason"] == "end of life: cannot be moved"
    negative = checklist(api, 1, outcome="negative", assessment_place=None)
    assert negative.status_code == 201 and negative.json_body["task_id"] is None
    refused = api("dina.nurse").post(f"/api/chc/{negative.json_body['id']}/decision", {"decision": "eligible"})
    assert refused.status_code == 409


def test_eligible_needs_the_personal_health_budget_and_only_the_team_decides(api, vera):
    case = checklist(api, 2).json_body
    missing = api("dina.nurse").post(f"/api/chc/{case['id']}/decision", {"decision": "eligible"})
    assert missing.status_code == 422 and missing.json_body["detail"][0]["loc"] == ["body", "personal_health_budget"]
    assert api("hana.homecare").post(f"/api/chc/{case['id']}/decision",
                                     {"decision": "not_eligible"}).status_code == 403  # cares for Vera, not the team
    assert api("kim.kent").post(f"/api/chc/{case['id']}/decision",
                                {"decision": "not_eligible"}).status_code == 404  # no relationship: not there
    assert ChcCase.objects.get(pk=case["id"]).decision == ""


def test_the_page_shows_the_cases(api, vera):
    checklist(api, 30)
    late = ChcCase.objects.get()
    api("dina.nurse").post(f"/api/chc/{late.id}/decision", {"decision": "not_eligible"})
    client = Client()
    client.force_login(User.objects.get(username="gita.gp"))
    text = client.get(f"/people/{VERA}/chc/").content.decode()
    assert "at home (Discharge to Assess)" in text and "late: after 28 days" in text and "28 days" in text
    outsider = Client()
    outsider.force_login(User.objects.get(username="kim.kent"))
    assert outsider.get(f"/people/{VERA}/chc/").status_code == 404


def test_the_team_summary_counts_its_work(api, vera):
    """Six checklists for Medway Community Healthcare's team (NQV), hand-counted: five positive (three at home,
    one in a care home placement, one in hospital with its reason) and one negative; three decided, two within
    the 28 days; two waiting, one of them past 28 days; two eligible, one budget accepted and one declined."""
    nurse = api("dina.nurse")

    def decide(case: dict, decision: str, phb: str | None = None) -> None:
        body = {"decision": decision} | ({"personal_health_budget": {"status": phb}} if phb else {})
        assert nurse.post(f"/api/chc/{case['id']}/decision", body).status_code == 200

    decide(checklist(api, 3).json_body, "eligible", "accepted")
    decide(checklist(api, 30, assessment_place="care_home").json_body, "not_eligible")  # late
    checklist(api, 31)  # waiting, overdue
    checklist(api, 1, assessment_place="hospital", hospital_reason="on a ventilator: cannot move safely yet")
    assert checklist(api, 2, outcome="negative").status_code == 201
    decide(checklist(api, 2).json_body, "eligible", "declined")
    summary = nurse.get("/api/chc/summary")
    assert summary.status_code == 200, summary.json_body
    assert summary.json_body == {
        "organisations": ["NQV"], "checklists": 6, "positive": 5, "negative": 1,
        "assessment_place": {"home": 3, "care_home": 1, "hospital": 1},
        "decided": 3, "decided_within_standard": 2, "decided_late": 1, "within_standard_percent": 66.7,
        "waiting": 2, "waiting_overdue": 1, "eligible": 2, "not_eligible": 1,
        "personal_health_budget": {"offered": 0, "accepted": 1, "declined": 1}}
    other_team = api("will.social").get("/api/chc/summary").json_body  # Medway Council: none of NQV's cases
    assert (other_team["organisations"], other_team["checklists"], other_team["within_standard_percent"]) == \
        (["E06000035-ASC"], 0, None)
    assert api("adam.admin").get("/api/chc/summary").status_code == 403
    client = Client()
    client.force_login(User.objects.get(username="dina.nurse"))
    text = client.get("/chc/").content.decode()
    assert "2 of 3 (66.7 %)" in text and "1 past 28 days" in text and VERA not in text and "Vera" not in text
