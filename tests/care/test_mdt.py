"""MDT case management: case lists from a hand-made analytical store (person_measures, medication,
clinical_event) cut to the MDT lead's PCN by the policy, each release audited with its count; the
medicines optimisation lists by their hand-worked rules; meetings, decisions, actions that become tasks,
and the decision on the person's timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from icsys.access import open_audit
from icsys.care import demo
from icsys.care.models import Task

pytestmark = pytest.mark.django_db
TASK_DAY = timedelta(hours=24)


@pytest.fixture
def store(tmp_path, practice, settings, make_store):
    """Seven people, each in or out of a list for one reason (conftest.write_store, hand-worked there)."""
    settings.ICSYS_STORE = str(make_store(tmp_path / "store.duckdb", practice))
    return settings.ICSYS_STORE


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
    assert task.due_at - task.created_at == TASK_DAY  # assessment within 24 hours (standards.toml)
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
        case_list_scope(Actor("sam", ("care_coordinator",), organisations=("SP03",)), {})
    scope = case_list_scope(Actor("mo", ("mdt_lead",), organisations=("U1",)), {"U1": ["P1", "P2"]})
    assert scope.organisations == {"U1", "P1", "P2"}


def test_a_store_with_integer_pseudonyms_gives_strings(api, practice, settings, tmp_path):
    import duckdb

    path = tmp_path / "int.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE person_measures AS SELECT 707 AS person_id, ? AS practice_code, 'severe' AS "
                "efi_category, NULL::VARCHAR AS efi2_category, NULL::DOUBLE AS risk_emergency_admission_12m, "
                "NULL::DOUBLE AS risk_top_percent, 'frailty' AS segment, 2 AS ltc_count, DATE '2026-03-31' AS as_of",
                [practice])
    con.close()
    settings.ICSYS_STORE = str(path)
    assert ids(api, "gita.gp", "frail") == ["707"]
