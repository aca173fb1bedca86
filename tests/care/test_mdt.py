"""MDT case management: case lists from a hand-made analytical store (person_measures, medication,
clinical_event) cut to the MDT lead's PCN by the policy, each release audited with its count; the
medicines optimisation lists by their hand-worked rules; meetings, decisions, actions that become tasks,
and the decision on the person's timeline."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest
from django.conf import settings
from django.utils import timezone

from icsys.access import open_audit
from icsys.care import demo
from icsys.care.models import Organisation, Task

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 3, 31)
RISPERIDONE_LOW = "408155001"  # codes/medicines_optimisation.csv: low_dose_antipsychotic
OLANZAPINE_10 = "321586008"  # codes/medications.csv: smi, not a low dose
DEMENTIA = "52448006"
REVIEW = "182836005"
TEN_MEDICINES = ["319283006", "318885001", "317919004", "320000009", "319740004", "318420003", "325278007",
                 "703677007", "320144000", "320186002"]


def other_pcn_practice(practice: str) -> str:
    mine = Organisation.objects.get(pk=practice).parent_id
    return Organisation.objects.filter(kind="practice").exclude(parent_id=mine).order_by("code").first().code


@pytest.fixture
def store(tmp_path, practice, settings):
    """Seven people, each in or out of a list for one reason (hand-worked below)."""
    elsewhere = other_pcn_practice(practice)
    people = [  # person_id, practice, efi, efi2, risk, top %, segment, ltc
        ("PDEMO0001", practice, "severe", "severe", 0.41, 1.0, "frailty", 4),  # Vera: frail, dementia, risperidone
        ("S2", practice, "fit", None, 0.05, 60.0, "healthy", 0),  # 10 medicines, no review: polypharmacy
        ("S3", practice, "mild", "mild", 0.08, 40.0, "ltc", 1),  # 10 medicines, reviewed 100 days ago: not
        ("S4", elsewhere, "severe", "severe", 0.50, 0.5, "frailty", 5),  # another PCN: never in mo.mdt's lists
        ("S5", practice, "mild", "fit", 0.10, 30.0, "ltc", 3),  # dementia, risperidone 200 days ago: not
        ("S6", practice, "fit", "moderate", 0.30, 4.0, "ltc", 2),  # dementia on olanzapine 10 mg: not low dose
        ("S7", practice, "moderate", "mild", 0.20, 10.0, "ltc", 3),  # frail, complex
    ]
    meds = [("PDEMO0001", RISPERIDONE_LOW, AS_OF - timedelta(days=30)),
            ("S5", RISPERIDONE_LOW, AS_OF - timedelta(days=200)), ("S6", OLANZAPINE_10, AS_OF - timedelta(days=10))]
    meds += [(p, code, AS_OF - timedelta(days=40 + i)) for p in ("S2", "S3") for i, code in enumerate(TEN_MEDICINES)]
    meds += [("S4", code, AS_OF - timedelta(days=5)) for code in TEN_MEDICINES]
    events = [(p, DEMENTIA, date(2024, 1, 1)) for p in ("PDEMO0001", "S5", "S6")]
    events.append(("S3", REVIEW, AS_OF - timedelta(days=100)))
    events.append(("S2", REVIEW, AS_OF - timedelta(days=400)))  # over a year ago: due again
    path = tmp_path / "store.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE person_measures (person_id VARCHAR, practice_code VARCHAR, efi_category VARCHAR, "
                "efi2_category VARCHAR, risk_emergency_admission_12m DOUBLE, risk_top_percent DOUBLE, "
                "segment VARCHAR, ltc_count INTEGER, as_of DATE)")
    con.executemany("INSERT INTO person_measures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [(*p, AS_OF) for p in people])
    con.execute("CREATE TABLE medication (person_id VARCHAR, dmd_code VARCHAR, issue_date DATE)")
    con.executemany("INSERT INTO medication VALUES (?, ?, ?)", meds)
    con.execute("CREATE TABLE clinical_event (person_id VARCHAR, snomed_code VARCHAR, event_date DATE)")
    con.executemany("INSERT INTO clinical_event VALUES (?, ?, ?)", events)
    con.close()
    settings.ICSYS_STORE = str(path)
    return path


def ids(api, user: str, name: str) -> list[str]:
    response = api(user).get(f"/api/mdt/case-lists/{name}")
    assert response.status_code == 200, response.content
    return [r["person_id"] for r in response.json_body]


def test_case_lists_are_cut_to_the_pcn_and_follow_their_rules(api, store):
    assert ids(api, "mo.mdt", "frail") == ["PDEMO0001", "S6", "S7"]  # efi or efi2 moderate/severe; risk order
    assert ids(api, "mo.mdt", "top_risk") == ["PDEMO0001", "S6"]  # top 5%; S4 is another PCN's
    assert ids(api, "mo.mdt", "complex") == ["PDEMO0001", "S7", "S5"]
    assert ids(api, "mo.mdt", "dementia_low_dose_antipsychotic") == ["PDEMO0001"]
    assert ids(api, "mo.mdt", "polypharmacy_review_due") == ["S2"]
    assert ids(api, "gita.gp", "frail") == ["PDEMO0001", "S6", "S7"]  # the practice's own people
    assert ids(api, "kim.kent", "frail") == []  # a hospital has no registered people


def test_each_release_is_audited_with_its_count_and_other_roles_are_refused(api, store):
    before = len(open_audit(settings.ICSYS_AUDIT_URL).records())
    ids(api, "mo.mdt", "frail")
    record = open_audit(settings.ICSYS_AUDIT_URL).records()[before:][-1]
    assert (record["actor_user"], record["what"], record["people"]) == ("mo.mdt", "care.mdt_case_list frail", 3)
    for user in ("sam.spoa", "priya.privacy", "adam.admin"):
        response = api(user).get("/api/mdt/case-lists/frail")
        assert response.status_code == 403 and "PDEMO0001" not in response.content.decode()
    bad = api("mo.mdt").get("/api/mdt/case-lists/everyone")
    assert bad.status_code == 422 and "list" in bad.content.decode()


def test_store_missing_is_a_clear_conflict_not_a_server_error(api, settings, tmp_path):
    settings.ICSYS_STORE = str(tmp_path / "none.duckdb")
    response = api("mo.mdt").get("/api/mdt/case-lists/frail")
    assert response.status_code == 409 and "no such file" in response.json_body["detail"]


def test_meeting_decision_and_action_become_a_task_on_the_timeline(api, vera_form, store):
    api("ada.discharge").post("/api/referrals", vera_form)
    pcn = demo.demo_practice().parent_id
    gp = api("gita.gp")
    assert gp.post("/api/people/PDEMO0001/care-team", {"organisation": pcn, "role_in_team": "frailty MDT"}) \
        .status_code in (200, 201)
    mo = api("mo.mdt")
    meeting = mo.post("/api/mdt/meetings", {"organisation": pcn, "title": "Frailty MDT", "case_list": "frail",
                                            "held_at": timezone.now().isoformat(), "attendees": [
                                                {"name": "Dr Mo Reid", "organisation": pcn, "role_in_team": "lead"},
                                                {"name": "Dina Clarke", "organisation": "NQV",
                                                 "role_in_team": "district nurse"}]})
    assert meeting.status_code == 201, meeting.content
    mid = meeting.json_body["id"]
    decision = mo.post(f"/api/mdt/meetings/{mid}/decisions", {
        "person_id": "PDEMO0001", "decision": "Review risperidone with the GP; nursing review at home",
        "actions": [{"description": "Medication review", "service": None},
                    {"description": "District nurse review", "service": "district_nursing", "organisation": "NQV"}]})
    assert decision.status_code == 201, decision.content
    task = Task.objects.get(person_id="PDEMO0001", service="district_nursing", referral=None)
    assert task.organisation_id == "NQV" and task.status == "offered"
    assert task.due_at - task.created_at == timedelta(hours=24)  # assessment within 24 hours (standards.toml)
    assert task.id in [t["id"] for t in api("dina.nurse").get("/api/tasks").json_body]
    kinds = [e["kind"] for e in mo.get("/api/people/PDEMO0001/timeline").json_body]
    assert "mdt_decision" in kinds and "referral" in kinds
    record = mo.get(f"/api/mdt/meetings/{mid}").json_body
    assert [a["name"] for a in record["attendees"]] == ["Dr Mo Reid", "Dina Clarke"]
    assert record["decisions"][0]["actions"][1]["task"] == task.id
    # another organisation's meeting: 404, nothing of it in the body
    other = api("kim.kent").get(f"/api/mdt/meetings/{mid}")
    assert other.status_code == 404 and "Frailty" not in other.content.decode()


def test_bad_decision_saves_nothing(api, vera_form, store):
    api("ada.discharge").post("/api/referrals", vera_form)
    pcn = demo.demo_practice().parent_id
    api("gita.gp").post("/api/people/PDEMO0001/care-team", {"organisation": pcn, "role_in_team": "frailty MDT"})
    mo = api("mo.mdt")
    mid = mo.post("/api/mdt/meetings", {"organisation": pcn, "title": "MDT",
                                        "held_at": timezone.now().isoformat()}).json_body["id"]
    before = Task.objects.count()
    bad = mo.post(f"/api/mdt/meetings/{mid}/decisions", {"person_id": "PDEMO0001", "decision": "x", "actions": [
        {"description": "ok", "service": "district_nursing", "organisation": "NQV"},
        {"description": "bad", "service": "astrology", "organisation": "NQV"}]})
    assert bad.status_code == 422 and "actions.1.service" in bad.content.decode()
    assert Task.objects.count() == before and not mo.get(f"/api/mdt/meetings/{mid}").json_body["decisions"]


def test_policy_refuses_case_lists_to_coordinators():
    from icsys.access import Actor
    from icsys.access.policy import AccessDenied, case_list_scope

    with pytest.raises(AccessDenied, match="MDT case list"):
        case_list_scope(Actor("sam", ("care_coordinator",), organisations=("XSPOA",)), {})
    scope = case_list_scope(Actor("mo", ("mdt_lead",), organisations=("U1",)), {"U1": ["P1", "P2"]})
    assert scope.organisations == {"U1", "P1", "P2"}
