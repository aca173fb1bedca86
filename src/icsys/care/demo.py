"""Demonstration data for the care service: the organisations of the Kent and Medway definition, one user
per role and service (logins in docs/care.md), people linked in the re-identification store with
synthetic-range NHS numbers, and referrals, tasks and plans, Vera's among them (seed 003), each made
through the services by the user whose work it is, so the audit log holds them too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from icsys.access import Actor, Auditor
from icsys.care import models as m
from icsys.care import services as s
from icsys.care.organisations import load_organisations
from icsys.care.schemas import CarePlanContent

PASSWORD = "care-demo-2026"  # every demonstration login; never a real system's
MEDWAY_ASC = "E06000035-ASC"
KENT_ASC = "E10000016-ASC"

# (user name, name, role, organisation code or a key resolved below, job)
USERS = [
    ("ada.discharge", "Ada Okafor", "clinician", "RPA", "discharge coordinator, Medway Maritime Hospital"),
    ("sam.spoa", "Sam Patel", "care_coordinator", "SP03", "SPoA call handler"),
    ("dina.nurse", "Dina Clarke", "clinician", "NQV", "district nurse, Medway Community Healthcare"),
    ("hana.homecare", "Hana Novak", "care_coordinator", "HC06", "home-care coordinator"),
    ("will.social", "Will Barnes", "social_worker", MEDWAY_ASC, "social worker, Medway Council"),
    ("gita.gp", "Dr Gita Shah", "clinician", "@practice", "GP, Vera's practice"),
    ("mo.mdt", "Dr Mo Reid", "mdt_lead", "@pcn", "frailty MDT lead, Vera's PCN"),
    ("pat.paramedic", "Pat Jones", "clinician", "RYD", "paramedic, SECAmb"),
    ("nia.111", "Nia Evans", "clinician", "X111", "NHS 111 clinician"),
    ("kim.kent", "Kim Hall", "clinician", "RVV", "discharge coordinator, East Kent Hospitals"),
    ("ken.kentsc", "Ken Ford", "social_worker", KENT_ASC, "social worker, Kent County Council"),
    ("priya.privacy", "Priya Desai", "privacy_officer", "QKS", "privacy officer, NHS Kent and Medway"),
    ("adam.admin", "Adam Lee", "administrator", "QKS", "system administrator"),
]

# Synthetic-range NHS numbers (valid check digits, 999 range), never a real person's.
VERA = {"nhs_number": "9990000018", "given_name": "Vera", "family_name": "Hughes", "birth_date": date(1946, 5, 14)}
ERIC = {"nhs_number": "9990000026", "given_name": "Eric", "family_name": "Hughes", "birth_date": date(1944, 2, 2)}
DOROTHY = {"nhs_number": "9990000034", "given_name": "Dorothy", "family_name": "Marsh",
           "birth_date": date(1946, 11, 30)}
UNKNOWN = {"nhs_number": "9990000042", "given_name": "Joan", "family_name": "Price", "birth_date": date(1938, 7, 9)}


def demo_practice() -> m.Organisation:
    """Vera's practice: the first practice of a Medway PCN in the definition."""
    return (m.Organisation.objects.filter(kind="practice", parent__parent__code="MS").order_by("code").first()
            or m.Organisation.objects.filter(kind="practice").order_by("code").first())


def load_users() -> dict[str, m.User]:
    practice = demo_practice()
    codes = {"@practice": practice.code, "@pcn": practice.parent_id}
    users = {}
    for username, name, role, org, job in USERS:
        given, family = name.rsplit(" ", 1)
        user = m.User.objects.create_user(username, password=PASSWORD, first_name=given, last_name=family, role=role)
        m.Membership.objects.create(user=user, organisation_id=codes.get(org, org), job_title=job)
        users[username] = user
    return users


def vera_referral_form(practice: str) -> dict[str, Any]:
    """Seed 003's discharge support form."""
    return {**VERA, "registered_practice": practice, "source": "acute_discharger", "from_organisation": "RPA",
            "to_organisation": "SP03",
            "needs": "Recovering from a stroke; type 2 diabetes, COPD and dementia; condition needs monitoring",
            "mobility": "Limited: walks short distances with a frame",
            "carer_situation": "Lives with her husband, who is frail and often unwell: not able to care for her",
            "recommended_services": ["domiciliary_care", "district_nursing", "carer_support",
                                     "social_work_assessment"],
            "expected_discharge_date": timezone.localdate() + timedelta(days=1),
            "carers": [{"name": "Eric Hughes", "relationship": "husband", "able_to_care": False,
                        "needs_support": True}]}


def _ctx(user: m.User) -> s.Ctx:
    return s.Ctx(user.actor("demo"), via="icsys care demo")


def link_people() -> None:
    """The demonstration people in the re-identification store (a data manager's load)."""
    auditor = Auditor(Actor("icsys-demo", ("data_manager",), authentication="os-user"),
                      s._audit_database(s.settings.ICSYS_AUDIT_URL))
    link = s.reidentification()
    for i, person in enumerate((VERA, ERIC, DOROTHY), start=1):
        link.link(auditor, person["nhs_number"], f"PDEMO{i:04d}", why="icsys care demo", allow_synthetic=True)


@transaction.atomic  # all or nothing in the care database
def load_demo(referrals: bool = True) -> dict[str, Any]:
    """Organisations, users and people; with `referrals`, the demonstration's referrals, tasks and plans."""
    orgs = load_organisations()
    users = load_users()
    link_people()
    if not referrals:
        return {"organisations": orgs, "users": sorted(users), "password": PASSWORD}
    practice = demo_practice().code
    u = users
    # Vera's referral, waiting for the SPoA's triage (the journey continues in the API).
    vera = s.create_referral(_ctx(u["ada.discharge"]), u["ada.discharge"], vera_referral_form(practice))
    # Dorothy: known to the MDT, with a shared plan and end-of-life preferences.
    dorothy = s.create_referral(_ctx(u["gita.gp"]), u["gita.gp"], {
        **DOROTHY, "registered_practice": practice, "source": "gp", "from_organisation": practice,
        "to_organisation": "SP03", "needs": "Frail; falls at home; low mood", "recommended_services": ["reablement"]})
    tasks = s.triage(_ctx(u["sam.spoa"]), u["sam.spoa"], dorothy.id,
                     [{"service": "urgent_community_response", "organisation": "NQV"},
                      {"service": "reablement", "organisation": MEDWAY_ASC}])
    # The 2-hour response was asked for 100 minutes ago: the tick warns; reablement was 3 days ago: breached.
    now = timezone.now()
    m.Task.objects.filter(pk=tasks[0].pk).update(created_at=now - timedelta(minutes=100),
                                                 due_at=now + timedelta(minutes=20))
    m.Task.objects.filter(pk=tasks[1].pk).update(created_at=now - timedelta(days=3), due_at=now - timedelta(days=1))
    s.record_consent(_ctx(u["gita.gp"]), u["gita.gp"], dorothy.person_id, "given", "discussed at home visit")
    s.save_care_plan(_ctx(u["gita.gp"]), u["gita.gp"], dorothy.person_id, {
        "summary": "Frail, lives alone, falls", "goals": [{"goal": "Stay safely at home", "by": None}],
        "actions": [{"action": "Falls assessment", "who": "community team", "due": None, "done": False}],
        "named_contacts": [{"name": "Dr Gita Shah", "role": "GP", "organisation": practice, "telephone": ""}],
        "anticipatory_care": "If breathless, call the community respiratory team before 999",
        "end_of_life": {"preferred_place_of_care": "home", "preferred_place_of_death": "home",
                        "resuscitation_decision": "not_for_resuscitation", "contact": "daughter, 07700 900123"}},
        None)
    # An NHS number the re-identification store does not know: the unmatched queue.
    unmatched = s.create_referral(_ctx(u["kim.kent"]), u["kim.kent"], {
        **UNKNOWN, "registered_practice": practice, "source": "acute_discharger", "from_organisation": "RVV",
        "to_organisation": "SP03", "needs": "Discharge home after a fall", "recommended_services": ["reablement"]})
    raised = s.tick()
    return {"organisations": orgs, "users": sorted(users), "password": PASSWORD,
            "referrals": {"vera": vera.id, "dorothy": dorothy.id, "unmatched": unmatched.id},
            "people": {"vera": vera.person_id, "dorothy": dorothy.person_id}, "tick": raised}


# A practice's caseload of shared plans: each person's care team is the GP and one or two services, and each
# plan holds the few actions a real one does (the load benchmark edits them: benchmarks/care_load.py).
CASELOAD_TEAMS = (("dina.nurse",), ("will.social",), ("dina.nurse", "will.social"), ("hana.homecare",),
                  ("dina.nurse", "hana.homecare"), ("will.social", "hana.homecare"))
CASELOAD_ACTIONS = (("Falls assessment", "community team"), ("Medication review", "GP"),
                    ("Carer's assessment", "social worker"), ("Check the pendant alarm", "home care"),
                    ("Pressure area care", "district nurse"), ("Review the package of care", "social worker"))
CASELOAD_GIVEN = ("Alan", "Brenda", "Cyril", "Doreen", "Edna", "Frank")
CASELOAD_FAMILY = ("Ahmed", "Baker", "Carter", "Davies", "Ellis", "Fletcher", "Green", "Harris", "Iqbal",
                   "Jones", "Kaur", "Lewis", "Mason", "Naylor", "Owen", "Parker", "Quinn", "Roberts")


def load_caseload(count: int) -> dict[str, tuple[str, ...]]:
    """`count` more people of the demonstration practice (PDEMO0101 on), each with consent to share recorded,
    a care team (the GP and one or two services of CASELOAD_TEAMS) and a care plan of CASELOAD_ACTIONS, made
    through the services by the GP. Returns each person's id and the users of their care team, who edit it."""
    users = {u.username: u for u in m.User.objects.filter(username__in={"gita.gp", *sum(CASELOAD_TEAMS, ())})}
    gp = users["gita.gp"]
    practice = demo_practice().code
    teams: dict[str, tuple[str, ...]] = {}
    with transaction.atomic():
        for i in range(count):
            person = m.Person.objects.create(
                id=f"PDEMO{101 + i:04d}", given_name=CASELOAD_GIVEN[i // len(CASELOAD_FAMILY) % len(CASELOAD_GIVEN)],
                family_name=CASELOAD_FAMILY[i % len(CASELOAD_FAMILY)], practice_id=practice,
                birth_date=date(1930 + i % 30, 1 + i % 12, 1 + i % 28))
            s.record_consent(_ctx(gp), gp, person.id, "given", "discussed at the practice")
            team = CASELOAD_TEAMS[i % len(CASELOAD_TEAMS)]
            for username in team:
                member = users[username]
                s.add_to_care_team(_ctx(gp), person.id, member.memberships.get().organisation_id, member.role,
                                   username)
            s.save_care_plan(_ctx(gp), gp, person.id, CarePlanContent(
                summary="Frail; lives alone with support", goals=[{"goal": "Stay well at home"}],
                actions=[{"action": action, "who": who} for action, who in CASELOAD_ACTIONS],
                named_contacts=[{"name": "Dr Gita Shah", "role": "GP", "organisation": practice}],
            ).model_dump(mode="json"), None)
            teams[person.id] = ("gita.gp", *team)
    return teams
