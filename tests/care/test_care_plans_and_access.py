"""Care plans (every version kept and attributed; a stale edit refused with 412 and the current version),
and access in one decision point: legitimate relationships, consent for shared plans (withdrawal at once),
urgent care's summary regardless, break-glass with a reason and an expiry, the privacy officer's audit view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from icsys.access import Actor, open_audit
from icsys.access.policy import CareRelationship, care_refusal
from icsys.care import demo
from icsys.care.models import BreakGlass, CarePlanVersion, Person
from icsys.care.services import Ctx, list_people

pytestmark = pytest.mark.django_db
VERA = "PDEMO0001"
PLAN = {"summary": "Recovering from a stroke at home", "goals": [{"goal": "Walk to the shops again"}],
        "actions": [{"action": "Daily personal care", "who": "home care"}],
        "named_contacts": [{"name": "Eric Hughes", "role": "husband"}],
        "anticipatory_care": "If confused or breathless, call the community team",
        "end_of_life": {"preferred_place_of_care": "home", "preferred_place_of_death": "home",
                        "resuscitation_decision": "not_for_resuscitation", "contact": "Eric Hughes (husband)"}}


@pytest.fixture
def plan(api, vera):
    response = api("gita.gp").post(f"/api/people/{VERA}/care-plan", PLAN)
    assert response.status_code == 201, response.json_body
    return response


def test_a_plan_keeps_every_version_and_refuses_a_stale_edit(api, plan):
    gp = api("gita.gp")
    assert plan["ETag"] == '"1"' and plan.json_body["author"] == "gita.gp"
    assert plan.json_body["organisation"] == demo.demo_practice().code
    read = gp.get(f"/api/people/{VERA}/care-plan")
    assert read["ETag"] == '"1"'
    edited = {**PLAN, "goals": [*PLAN["goals"], {"goal": "Eric gets a break each week"}]}
    second = gp.put(f"/api/people/{VERA}/care-plan", edited, HTTP_IF_MATCH='"1"')
    assert second.status_code == 200 and second["ETag"] == '"2"'
    stale = api("mo.mdt")  # not yet in the care team: cannot even see it
    assert stale.put(f"/api/people/{VERA}/care-plan", PLAN, HTTP_IF_MATCH='"1"').status_code == 404
    refused = gp.put(f"/api/people/{VERA}/care-plan", PLAN, HTTP_IF_MATCH='"1"')
    assert refused.status_code == 412 and refused["ETag"] == '"2"'
    assert refused.json_body["version"] == 2 and len(refused.json_body["content"]["goals"]) == 2
    assert gp.put(f"/api/people/{VERA}/care-plan", PLAN).status_code == 428
    assert gp.post(f"/api/people/{VERA}/care-plan", PLAN).status_code == 409  # one plan per person
    versions = gp.get(f"/api/people/{VERA}/care-plan/versions").json_body
    assert [(v["version"], v["author"], len(v["content"]["goals"])) for v in versions] == \
        [(1, "gita.gp", 1), (2, "gita.gp", 2)]


def test_bad_plan_content_names_the_field_and_saves_nothing(api, plan):
    bad = {**PLAN, "end_of_life": {**PLAN["end_of_life"], "resuscitation_decision": "maybe"}}
    response = api("gita.gp").put(f"/api/people/{VERA}/care-plan", bad, HTTP_IF_MATCH='"1"')
    assert response.status_code == 422
    assert response.json_body["detail"][0]["loc"] == ["body", "body", "end_of_life", "resuscitation_decision"]
    assert CarePlanVersion.objects.filter(plan__person_id=VERA).count() == 1


def test_a_shared_plan_needs_consent_and_a_withdrawal_takes_effect_at_once(api, plan):
    social = api("will.social")  # a relationship: a task addressed to Medway adult social care
    assert social.get(f"/api/people/{VERA}").status_code == 200
    no_consent = social.get(f"/api/people/{VERA}/care-plan")
    assert no_consent.status_code == 403 and "consent" in no_consent.json_body["detail"]
    assert "Walk to the shops" not in no_consent.content.decode()
    assert social.post(f"/api/people/{VERA}/consent", {"status": "given"}).status_code == 201
    assert social.get(f"/api/people/{VERA}/care-plan").status_code == 200
    api("gita.gp").post(f"/api/people/{VERA}/consent", {"status": "withdrawn", "note": "Vera asked"})
    assert social.get(f"/api/people/{VERA}/care-plan").status_code == 403
    assert api("gita.gp").get(f"/api/people/{VERA}/care-plan").status_code == 200  # the registered practice


def test_urgent_care_sees_the_resuscitation_decision_and_end_of_life_preferences_regardless(api, plan):
    api("gita.gp").post(f"/api/people/{VERA}/consent", {"status": "withdrawn"})
    for user in ("pat.paramedic", "nia.111"):
        urgent = api(user)
        summary = urgent.get(f"/api/people/{VERA}/urgent-care-summary")
        assert summary.status_code == 200
        assert summary.json_body["resuscitation_decision"] == "not_for_resuscitation"
        assert summary.json_body["preferred_place_of_death"] == "home"
        assert urgent.get(f"/api/people/{VERA}/care-plan").status_code == 404  # not the plan
        assert urgent.get(f"/api/people/{VERA}").status_code == 404
        assert "Walk to the shops" not in summary.content.decode()
    # a clinician of another trust is not urgent care: nothing
    assert api("kim.kent").get(f"/api/people/{VERA}/urgent-care-summary").status_code == 404


def test_a_declined_task_gives_no_relationship(api, vera):
    home = api("hana.homecare")
    assert home.get(f"/api/people/{VERA}").status_code == 200
    home.post(f"/api/tasks/{vera['tasks']['domiciliary_care']}/decline", {"reason": "no capacity this week"})
    assert home.get(f"/api/people/{VERA}").status_code == 404
    assert home.get("/api/people").json_body == []


def test_lists_hold_only_people_with_a_relationship(api, vera):
    def ids(user):
        return [p["id"] for p in api(user).get("/api/people").json_body]

    assert ids("gita.gp") == [VERA] and ids("will.social") == [VERA] and ids("sam.spoa") == [VERA]
    assert ids("kim.kent") == [] and ids("ken.kentsc") == [] and ids("mo.mdt") == []
    pcn = demo.demo_practice().parent_id
    assert api("sam.spoa").post(f"/api/people/{VERA}/care-team",
                                {"organisation": pcn, "role_in_team": "frailty MDT"}).status_code == 201
    assert ids("mo.mdt") == [VERA]
    assert api("adam.admin").get("/api/people").status_code == 403
    assert api("priya.privacy").get("/api/people").status_code == 403


def test_break_glass_needs_a_reason_expires_and_is_flagged_to_the_privacy_officer(api, plan):
    kim = api("kim.kent")
    assert kim.get(f"/api/people/{VERA}").status_code == 404
    assert kim.post(f"/api/people/{VERA}/break-glass", {"reason": "urgent"}).status_code == 422
    assert api("sam.spoa").post(f"/api/people/{VERA}/break-glass",
                                {"reason": "unconscious in A&E, no history"}).status_code == 403  # clinicians only
    grant = kim.post(f"/api/people/{VERA}/break-glass", {"reason": "unconscious in A&E, no history available"})
    assert grant.status_code == 201
    expires = grant.json_body["expires_at"]
    assert kim.get(f"/api/people/{VERA}").status_code == 200
    assert kim.get(f"/api/people/{VERA}/care-plan").status_code == 403  # consent still applies to the plan
    flagged = api("priya.privacy").get("/api/break-glass").json_body
    assert [(g["user"], g["person_id"], g["reviewed_at"]) for g in flagged] == [("kim.kent", VERA, None)]
    assert expires == flagged[0]["expires_at"]
    BreakGlass.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert kim.get(f"/api/people/{VERA}").status_code == 404
    reviewed = api("priya.privacy").post(f"/api/break-glass/{flagged[0]['id']}/review", {"note": "justified"})
    assert reviewed.json_body["reviewed_at"] is not None
    assert api("kim.kent").get("/api/break-glass").status_code == 403


def test_every_read_and_write_is_audited_and_the_privacy_officer_reads_it(api, plan):
    earlier = {r["id"] for r in api("priya.privacy").get(f"/api/audit?person={VERA}").json_body}  # other tests'
    api("gita.gp").get(f"/api/people/{VERA}/care-plan")
    api("gita.gp").get(f"/api/people/{VERA}")  # shows her NHS number: a re-identification, about her
    api("will.social").get("/api/people")
    officer = api("priya.privacy")
    mine = officer.get(f"/api/audit?person={VERA}").json_body
    assert mine and {r["person"] for r in mine} == {VERA}  # every access to her, and only to her
    assert [r["what"] for r in mine if r["actor_user"] == "gita.gp"][:3] == [
        f"care.person person={VERA}", f"person_id {VERA} -> nhs_number", f"care.care_plan v1 person={VERA}"]
    reads = [r for r in reversed(mine) if r["actor_user"] == "gita.gp" and r["action"] == "read"
             and r["id"] not in earlier]
    assert reads[0]["what"] == f"care.care_plan v1 person={VERA}"
    assert (reads[0]["actor_roles"], reads[0]["people"], reads[0]["authentication"]) == ("clinician", 1, "token")
    assert reads[0]["destination"] == f"api GET /api/people/{VERA}/care-plan"
    listing = [r for r in officer.get("/api/audit?user=will.social").json_body if r["action"] == "list"]
    assert listing[0]["what"] == "care.person" and listing[0]["people"] == 1
    assert api("gita.gp").get("/api/audit").status_code == 403
    # the database refuses to change a record
    import sqlite3

    url = settings.ICSYS_AUDIT_URL
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_record")
    con.close()
    assert len(open_audit(url).records()) >= len(mine)


def test_the_policy_decides_on_facts_alone():
    practice = CareRelationship(registered_practice="G1", task=frozenset({"ASC"}))
    gp = Actor("g", ("clinician",), ("G1",))
    social = Actor("w", ("social_worker",), ("ASC",))
    stranger = Actor("k", ("clinician",), ("RVV",))
    paramedic = Actor("p", ("clinician",), ("RYD",))
    assert care_refusal(gp, "read", practice, "care_plan") is None
    assert "consent" in care_refusal(social, "read", practice, "care_plan")
    assert care_refusal(social, "read", CareRelationship("G1", task=frozenset({"ASC"}), consent_to_share=True),
                        "care_plan") is None
    assert "no legitimate relationship" in care_refusal(stranger, "read", practice)
    urgent = CareRelationship("G1", urgent_care_organisations=frozenset({"RYD"}))
    assert care_refusal(paramedic, "read", urgent, "urgent_care_summary") is None
    assert care_refusal(paramedic, "read", urgent, "care_plan") is not None
    assert care_refusal(paramedic, "write", urgent, "urgent_care_summary") is not None


def test_querysets_are_scoped_in_one_place(api, vera):
    actor = Actor("kim.kent", ("clinician",), ("RVV",), authentication="test", purpose="direct care")
    assert list(Person.objects.visible_to(actor)) == []
    page = list_people(Ctx(actor, via="test"))
    assert (page.rows, page.total) == ([], 0)  # nor does the count tell her of anyone


def test_a_person_is_found_by_nhs_number_only_with_a_relationship(api, vera):
    found = api("gita.gp").get("/api/people/lookup?nhs_number=999 000 0018")
    assert found.status_code == 200 and found.json_body["id"] == VERA
    assert api("kim.kent").get("/api/people/lookup?nhs_number=9990000018").status_code == 404
    bad = api("gita.gp").get("/api/people/lookup?nhs_number=9990000019")
    assert bad.status_code == 422 and "check digit" in bad.json_body["detail"][0]["msg"]
    assert bad.json_body["detail"][0]["loc"] == ["query", "nhs_number"]
    detail = api("gita.gp").get(f"/api/people/{VERA}").json_body
    assert detail["nhs_number"] == "9990000018" and detail["person"]["family_name"] == "Hughes"


def test_the_demonstration_caseload_is_shared_with_each_care_team_only(api):
    """demo.load_caseload (the load benchmark's plans): each person's plan is read and edited by the GP and
    the services of their care team, with consent recorded, and by no other service."""
    teams = demo.load_caseload(7)
    assert list(teams) == [f"PDEMO{n:04d}" for n in range(101, 108)]
    assert teams["PDEMO0101"] == ("gita.gp", "dina.nurse") and teams["PDEMO0103"] == ("gita.gp", "dina.nurse",
                                                                                       "will.social")
    assert teams["PDEMO0107"] == teams["PDEMO0101"]  # the six teams, in turn
    outsiders = {"dina.nurse", "will.social", "hana.homecare"}
    for person, team in teams.items():
        plan = f"/api/people/{person}/care-plan"
        for user in team:
            read = api(user).get(plan)
            assert read.status_code == 200 and read["ETag"] == '"1"', (person, user, read.json_body)
            assert [a["action"] for a in read.json_body["content"]["actions"]] == [a for a, _ in demo.CASELOAD_ACTIONS]
        for user in outsiders - set(team):
            assert api(user).get(plan).status_code == 404, (person, user)
    content = api("will.social").get("/api/people/PDEMO0102/care-plan").json_body["content"]
    content["actions"][2]["done"] = True
    saved = api("will.social").put("/api/people/PDEMO0102/care-plan", content, HTTP_IF_MATCH='"1"')
    assert saved.status_code == 200 and saved.json_body["author"] == "will.social" and saved["ETag"] == '"2"'
    assert saved.json_body["organisation"] == demo.MEDWAY_ASC
