"""The role pages through Django's test client (the browser tests drive the same pages in chromium): each
role's pages render; another organisation's ids give 403 or 404 with none of the person's data and change
nothing; forms need CSRF, name the field that is wrong and save nothing; a stale care plan edit is refused
with the current version shown and the editor's own text kept."""

from __future__ import annotations

import pytest
from django.test import Client

from icsys.care import demo
from icsys.care.models import CarePlanVersion, Consent, MdtDecision, MdtMeeting, Referral, Task, User

pytestmark = pytest.mark.django_db
VERA = "PDEMO0001"
PROTECTED = ["Vera", "Hughes", "999 000 0018", "9990000018", "Recovering from a stroke", "Walk to the shops",
             "not_for_resuscitation", "Eric"]
OUTSIDERS = ["kim.kent", "ken.kentsc", "hana.homecare", "mo.mdt", "adam.admin", "priya.privacy"]
PAGES = ["/people/{person}/", "/people/{person}/care-plan/", "/referrals/{referral}/", "/mdt/meetings/{meeting}/"]
POSTS = [("/people/{person}/", {"form": "consent", "status": "withdrawn"}),
         ("/people/{person}/", {"form": "care_team", "organisation": "RVV", "role_in_team": "me"}),
         ("/people/{person}/care-plan/", {"version": "1", "summary": "overwritten"}),
         ("/referrals/{referral}/", {"form": "triage", "service": "reablement", "org_reablement": "RVV"}),
         ("/referrals/{referral}/", {"form": "discharge"}),
         ("/tasks/", {"form": "decline", "task": "{task}", "reason": "not ours"}),
         ("/tasks/", {"form": "complete", "task": "{task}", "outcome": "done"}),
         ("/mdt/meetings/{meeting}/", {"person_id": VERA, "decision": "seen"})]


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


@pytest.fixture
def vera(api, refer_vera):
    referred = refer_vera("social_work_assessment")  # social care only: home care stays an outsider
    referral = referred["referral"]
    gp = api("gita.gp")
    gp.post(f"/api/people/{VERA}/care-plan", {"summary": "Recovering from a stroke",
                                             "goals": [{"goal": "Walk to the shops"}]})
    gp.post(f"/api/people/{VERA}/consent", {"status": "given"})
    meeting = MdtMeeting.objects.create(organisation_id=demo.demo_practice().parent_id, title="Frailty MDT",
                                        held_at="2026-01-02T10:00:00Z", created_by=User.objects.get(username="mo.mdt"))
    MdtDecision.objects.create(meeting=meeting, person_id=VERA, decision="Walk to the shops: physiotherapy",
                               recorded_by=meeting.created_by)
    return {"person": VERA, "referral": referral, "task": referred["task"], "meeting": meeting.id}


def state() -> tuple:
    return (Referral.objects.count(), list(Task.objects.values_list("status", "version")),
            CarePlanVersion.objects.count(), Consent.objects.count(), MdtDecision.objects.count(),
            list(Referral.objects.values_list("status", "discharged_at")))


@pytest.mark.parametrize("user", OUTSIDERS)
def test_other_organisations_ids_give_403_or_404_with_nothing_of_vera(vera, user):
    client = signed_in(user)
    before = state()
    for template in PAGES:
        if user == "mo.mdt" and template.startswith("/mdt/"):
            continue  # his own PCN's meeting: it opens without Vera's decision (below)
        response = client.get(template.format(**vera))
        assert response.status_code in (403, 404), (user, template, response.status_code)
        text = response.content.decode()
        assert not [p for p in PROTECTED if p in text], (user, template)
    for template, data in POSTS:
        form = {k: v.format(**vera) for k, v in data.items()}
        response = client.post(template.format(**vera), form)
        assert response.status_code in (403, 404, 422), (user, template, response.status_code)
        assert not [p for p in PROTECTED if p in response.content.decode()], (user, template)
    for listing in ("/people/", "/referrals/", "/referrals/unmatched/", "/tasks/"):
        text = client.get(listing).content.decode()
        assert not [p for p in PROTECTED if p in text], (user, listing)
    assert state() == before


def test_mdt_lead_sees_his_meeting_without_decisions_about_people_he_may_not_see(vera):
    text = signed_in("mo.mdt").get(f"/mdt/meetings/{vera['meeting']}/").content.decode()
    assert "Frailty MDT" in text and "Walk to the shops" not in text and VERA not in text


def test_each_roles_pages_render(vera, settings, tmp_path):
    settings.ICSYS_STORE = str(tmp_path / "absent.duckdb")  # the MDT page says so, does not fail
    for user, pages in {"sam.spoa": ["/", "/referrals/", "/referrals/unmatched/", "/tasks/", f"/people/{VERA}/",
                                     f"/referrals/{vera['referral']}/"],
                        "ada.discharge": ["/", "/referrals/new/"],
                        "will.social": ["/tasks/", f"/people/{VERA}/", f"/people/{VERA}/care-plan/"],
                        "gita.gp": ["/people/", f"/people/{VERA}/care-plan/", "/mdt/"],
                        "priya.privacy": ["/", "/audit/"], "adam.admin": ["/"]}.items():
        client = signed_in(user)
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, (user, path, response.status_code)
            assert b'<main id="main"' in response.content and b"<h1>" in response.content
    assert signed_in("sam.spoa").get("/audit/").status_code == 403
    assert signed_in("priya.privacy").get("/people/").status_code == 403
    assert Client().get("/tasks/").status_code == 302  # to sign in


def test_forms_need_csrf(vera):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="gita.gp"))
    before = state()
    assert client.post(f"/people/{VERA}/", {"form": "consent", "status": "withdrawn"}).status_code == 403
    assert state() == before


def test_bad_referral_names_the_field_and_saves_nothing(db, practice):
    client = signed_in("ada.discharge")
    before = Referral.objects.count()
    response = client.post("/referrals/new/", {"nhs_number": "9990000019", "given_name": "Vera",
                                               "family_name": "Hughes", "birth_date": "1946-05-14",
                                               "registered_practice": practice, "needs": "stroke"})
    assert response.status_code == 422
    text = response.content.decode()
    assert "There is a problem" in text and 'href="#nhs_number"' in text and "check digit" in text.lower()
    response = client.post("/referrals/new/", {"nhs_number": "9990000018", "given_name": "",
                                               "family_name": "Hughes", "birth_date": "2999-01-01",
                                               "registered_practice": practice, "needs": ""})
    text = response.content.decode()
    assert response.status_code == 422 and 'href="#given_name"' in text and 'href="#birth_date"' in text
    assert 'href="#needs"' in text and 'value="Hughes"' in text  # what was typed stays
    assert Referral.objects.count() == before


def test_decline_without_a_reason_names_it_and_changes_nothing(vera):
    client = signed_in("will.social")
    before = state()
    response = client.post("/tasks/", {"form": "decline", "task": str(vera["task"]), "reason": "  "})
    assert response.status_code == 422 and "Reason" in response.content.decode()
    assert state() == before
    assert client.post("/tasks/", {"form": "accept", "task": str(vera["task"])}).status_code == 302
    assert Task.objects.get(pk=vera["task"]).status == "accepted"


def test_stale_care_plan_edit_shows_the_current_version_and_keeps_the_editors_text(vera):
    gp, social = signed_in("gita.gp"), signed_in("will.social")
    form = {"summary": "Recovering from a stroke", "goals": "Walk to the shops", "resuscitation_decision":
            "not_yet_discussed"}
    assert gp.post(f"/people/{VERA}/care-plan/", {**form, "version": "1", "actions": "Physio | community team"}) \
        .status_code == 302
    stale = social.post(f"/people/{VERA}/care-plan/", {**form, "version": "1", "goals": "Carer support for Eric"})
    text = stale.content.decode()
    assert stale.status_code == 409 and "Someone else saved this plan" in text
    assert "Physio | community team" in text  # theirs, shown
    assert "Carer support for Eric</textarea>" in text  # mine, kept in the form
    assert 'name="version" value="2"' in text  # and the next save builds on theirs
    assert list(CarePlanVersion.objects.filter(plan__person_id=VERA).values_list("number", flat=True)) == [1, 2]
    bad = gp.post(f"/people/{VERA}/care-plan/", {**form, "version": "2", "resuscitation_decision": "maybe"})
    assert bad.status_code == 422 and "End of life preferences" in bad.content.decode()
    assert CarePlanVersion.objects.filter(plan__person_id=VERA).count() == 2


def test_the_style_sheet_is_served_locally(client):
    response = client.get("/static/icsys.css")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    assert client.get("/static/../settings.py").status_code == 404
