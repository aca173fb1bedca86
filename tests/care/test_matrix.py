"""The authorisation matrix: every endpoint of the OpenAPI that takes an id × a user in every role at an
organisation with no relationship to Vera × Vera's ids -> 403 or 404, the body holding none of her data and
nothing changed; the lists of those users hold none of her records."""

from __future__ import annotations

import json

import pytest

from icsys.care import demo
from icsys.care.models import (
    BreakGlass,
    CarePlanVersion,
    ChcCase,
    Consent,
    MdtDecision,
    MdtMeeting,
    Referral,
    Task,
    User,
)

pytestmark = pytest.mark.django_db
VERA = "PDEMO0001"
# one user per role, each at an organisation with no relationship to Vera
OUTSIDERS = ["kim.kent", "ken.kentsc", "hana.homecare", "mo.mdt", "adam.admin", "priya.privacy"]
PROTECTED = ["Vera", "Hughes", "9990000018", "1946-05-14", "Recovering from a stroke", "Walk to the shops",
             "not_for_resuscitation", "Eric"]
ENDPOINTS = [
    ("GET", "/api/people/{person}", None),
    ("GET", "/api/people/{person}/timeline", None),
    ("GET", "/api/people/{person}/care-plan", None),
    ("GET", "/api/people/{person}/care-plan/versions", None),
    ("GET", "/api/people/{person}/urgent-care-summary", None),
    ("GET", "/api/people/lookup?nhs_number=9990000018", None),
    ("POST", "/api/people/{person}/care-plan", {"goals": []}),
    ("PUT", "/api/people/{person}/care-plan", {"goals": []}),
    ("POST", "/api/people/{person}/consent", {"status": "withdrawn"}),
    ("POST", "/api/people/{person}/care-team", {"organisation": "RVV", "role_in_team": "me"}),
    ("GET", "/api/referrals/{referral}", None),
    ("POST", "/api/referrals/{referral}/resolve", {}),
    ("POST", "/api/referrals/{referral}/triage", {"tasks": [{"service": "reablement", "organisation": "RVV"}]}),
    ("POST", "/api/referrals/{referral}/discharge", {"discharged_at": "2026-01-01T10:00:00Z"}),
    ("GET", "/api/tasks/{task}", None),
    ("POST", "/api/tasks/{task}/accept", {}),
    ("POST", "/api/tasks/{task}/decline", {"reason": "no"}),
    ("POST", "/api/tasks/{task}/complete", {"outcome": "done"}),
    ("POST", "/api/break-glass/{grant}/review", {"note": "seen"}),
    ("GET", "/api/people/{person}/chc", None),
    ("POST", "/api/people/{person}/chc", {"outcome": "positive", "organisation": "RVV", "assessment_place": "home"}),
    ("POST", "/api/chc/{chc}/decision", {"decision": "not_eligible"}),
    ("GET", "/api/mdt/meetings/{meeting}", None),
    ("POST", "/api/mdt/meetings/{meeting}/decisions", {"person_id": VERA, "decision": "seen"}),
]
FHIR_ENDPOINTS = [  # FHIR's answers are OperationOutcomes
    *[("GET", f"/api/fhir/{kind}?patient={{person}}", None)
      for kind in ("Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent")],
    *[("GET", f"/api/fhir/{path}", None) for path in ("Patient/{person}", "ServiceRequest/{referral}", "Task/{task}",
                                                      "CarePlan/{person}", "CareTeam/{person}", "Consent/{consent}",
                                                      "CarePlan/{person}/_history")],
    ("POST", "/api/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Consent", "status": "inactive", "scope": {"text": "privacy"},
                      "category": [{"text": "share"}], "patient": {"reference": "Patient/{person}"}}}]}),
]
FHIR_PATHS = {"/api/fhir/{resource_type}", "/api/fhir/{resource_type}/{rid}", "/api/fhir",
              "/api/fhir/CarePlan/{rid}/_history"}
LISTS = ["/api/people", "/api/referrals", "/api/referrals/unmatched", "/api/tasks", "/api/notifications"]
# endpoints without another organisation's ids: sign-in, who am I, the organisations (no personal data),
# break-glass itself (any clinician may, with a reason: tested on its own), the privacy officer's views
NOT_IN_MATRIX = {"/api/auth/token", "/api/me", "/api/organisations", "/api/fhir/metadata",
                 "/api/people/{person_id}/break-glass", "/api/audit", "/api/break-glass", "/api/referrals",
                 "/api/people", "/api/tasks",
                 "/api/notifications", "/api/referrals/unmatched", "/api/people/lookup",
                 "/api/mdt/meetings", "/api/mdt/case-lists/{name}",  # case lists: scoped, tested in test_mdt
                 "/api/chc/summary"}  # counts of the actor's own teams' cases, no ids: tested in test_chc


@pytest.fixture
def vera_ids(api, refer_vera):
    referred = refer_vera("social_work_assessment")  # social care only: home care stays an outsider
    referral = referred["referral"]
    gp = api("gita.gp")
    gp.post(f"/api/people/{VERA}/care-plan", {"summary": "Recovering from a stroke",
                                             "goals": [{"goal": "Walk to the shops"}],
                                             "end_of_life": {"resuscitation_decision": "not_for_resuscitation"}})
    gp.post(f"/api/people/{VERA}/consent", {"status": "given"})
    api("ada.discharge").post(f"/api/referrals/{referral}/discharge", {"discharged_at": "2026-01-01T10:00:00Z"})
    grant = api("pat.paramedic").post(f"/api/people/{VERA}/break-glass",
                                      {"reason": "collapsed at home, no history to hand"}).json_body["id"]
    meeting = MdtMeeting.objects.create(organisation_id=demo.demo_practice().parent_id, title="Frailty MDT",
                                        held_at="2026-01-02T10:00:00Z", created_by=User.objects.get(username="mo.mdt"))
    MdtDecision.objects.create(meeting=meeting, person_id=VERA, decision="Walk to the shops: physiotherapy",
                               recorded_by=meeting.created_by)
    consent = Consent.objects.filter(person_id=VERA).latest("id").id
    chc = api("will.social").post(f"/api/people/{VERA}/chc", {"outcome": "positive", "organisation": "NQV",
                                                             "assessment_place": "home"}).json_body["id"]
    return {"person": VERA, "referral": referral, "task": referred["task"], "grant": grant, "meeting": meeting.id,
            "consent": consent, "chc": chc}


def state() -> tuple:
    return (Referral.objects.count(), list(Task.objects.values_list("status", "version")),
            CarePlanVersion.objects.count(), Consent.objects.count(),
            list(BreakGlass.objects.values_list("reviewed_at", flat=True)), MdtDecision.objects.count(),
            list(ChcCase.objects.values_list("decision", flat=True)))


def test_the_matrix_covers_every_endpoint_with_an_id(client):
    paths = set(client.get("/api/openapi.json").json()["paths"])
    covered = {p.split("?")[0].replace("{person}", "{person_id}").replace("{referral}", "{referral_id}")
               .replace("{task}", "{task_id}").replace("{grant}", "{grant_id}")
               .replace("{meeting}", "{meeting_id}").replace("{chc}", "{case_id}") for _, p, _ in ENDPOINTS} \
        | FHIR_PATHS
    assert paths - NOT_IN_MATRIX == covered - NOT_IN_MATRIX
    assert paths - NOT_IN_MATRIX - covered == set()


@pytest.mark.parametrize("user", OUTSIDERS)
def test_other_organisations_ids_give_403_or_404_and_nothing_of_vera(api, vera_ids, user):
    client = api(user)
    before = state()
    for method, template, body in ENDPOINTS:
        if user == "priya.privacy" and "/review" in template:
            continue  # the privacy officer's own work
        if user == "mo.mdt" and template == "/api/mdt/meetings/{meeting}":
            continue  # his own PCN's meeting: it opens, without Vera's decision (below)
        path = template.format(**vera_ids)
        headers = {"HTTP_IF_MATCH": '"1"'} if method == "PUT" else {}
        response = client.call(method, path, body, **headers)
        assert response.status_code in (403, 404), (user, method, path, response.status_code, response.content)
        text = response.content.decode()
        assert not [p for p in PROTECTED if p in text], (user, path, text)
        assert set(json.loads(text)) == {"detail"}
    assert state() == before


def test_a_care_team_member_sees_the_persons_tasks_but_only_the_service_changes_them(api, vera_ids):
    """task_for decides as the person's relationships do: the care team's organisation sees Vera's task once
    added (not before, not after it leaves), and may not accept, decline or complete another service's task."""
    task = f"/api/tasks/{vera_ids['task']}"
    kent = api("ken.kentsc")  # Kent County Council's social worker: no relationship with Vera at first
    assert kent.get(task).status_code == 404
    added = api("gita.gp").post(f"/api/people/{VERA}/care-team", {"organisation": demo.KENT_ASC,
                                                                 "role_in_team": "social worker (placement)"})
    assert added.status_code == 201, added.json_body
    seen = kent.get(task)
    assert seen.status_code == 200 and seen.json_body["person_id"] == VERA
    before = state()
    for action, body in (("accept", {}), ("decline", {"reason": "not ours"}), ("complete", {"outcome": "done"})):
        assert kent.post(f"{task}/{action}", body).status_code == 403
    assert state() == before
    assert api("kim.kent").get(task).status_code == 404  # another organisation still sees nothing
    from icsys.care.models import CareTeamMember

    CareTeamMember.objects.filter(person_id=VERA, organisation_id=demo.KENT_ASC).update(ended_at="2026-01-03T10:00Z")
    assert kent.get(task).status_code == 404  # left the team: the task is gone from view


def test_an_mdt_meeting_shows_only_decisions_about_people_the_reader_may_see(api, vera_ids):
    record = api("mo.mdt").get(f"/api/mdt/meetings/{vera_ids['meeting']}")
    assert record.status_code == 200 and record.json_body["decisions"] == []
    assert not [p for p in PROTECTED if p in record.content.decode()]


@pytest.mark.parametrize("user", OUTSIDERS)
def test_fhir_gives_other_organisations_403_or_404_and_nothing_of_vera(api, vera_ids, user):
    client = api(user)
    before = state()
    for method, template, body in FHIR_ENDPOINTS:
        path = template.format(**vera_ids)
        if body is not None:
            body = json.loads(json.dumps(body).replace("{person}", VERA))
        response = client.call(method, path, body)
        assert response.status_code in (403, 404), (user, method, path, response.status_code, response.content)
        text = response.content.decode()
        assert not [p for p in PROTECTED if p in text], (user, path, text)
        assert json.loads(text)["resourceType"] == "OperationOutcome"
    assert state() == before


@pytest.mark.parametrize("user", OUTSIDERS)
def test_their_lists_hold_none_of_veras_records(api, vera_ids, user):
    client = api(user)
    for path in LISTS:
        response = client.get(path)
        assert response.status_code in (200, 403), (user, path)
        text = response.content.decode()
        assert not [p for p in PROTECTED if p in text], (user, path, text)
        if response.status_code == 200:
            assert response.json_body == [], (user, path)


def test_without_a_token_nothing(api, vera_ids):
    anonymous = api(None)
    for method, template, body in ENDPOINTS:
        response = anonymous.call(method, template.format(**vera_ids), body)
        assert response.status_code in (401, 403) and "Vera" not in response.content.decode()  # 403: no CSRF
