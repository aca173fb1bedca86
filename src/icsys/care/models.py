"""The care service's records: organisations and users, people (by pseudonym), carers, referrals into the
SPoA, tasks for services with their alerts, discharge notifications, care plans with every version, consent,
the care team and episodes that make a relationship, and break-glass.

Every read of a person goes through `Person.objects.visible_to(actor)` (and the querysets built on it): the
one place that turns `icsys.access.policy.care_scope` into a query."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils import timezone

from icsys.access import Actor
from icsys.access.policy import CARE_ROLES, care_scope

ORGANISATION_KINDS = [
    ("ics", "integrated care board"), ("icp", "integrated care partnership"), ("pcn", "primary care network"),
    ("practice", "GP practice"), ("acute", "acute trust"), ("community", "community provider"),
    ("mental_health", "mental health trust"), ("ambulance", "ambulance service"), ("nhs_111", "NHS 111"),
    ("spoa", "single point of access"), ("social_care", "council adult social care"),
    ("care_home", "care home"), ("hospice", "hospice"), ("home_care", "home-care provider"),
]


class Organisation(models.Model):
    code = models.CharField(max_length=20, primary_key=True, help_text="ODS code (or the definition's code)")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ORGANISATION_KINDS)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class User(AbstractUser):
    """One sign-in. A user acts in one role (as a smartcard session selects one) for its organisations."""

    role = models.CharField(max_length=20, choices=[(r, r.replace("_", " ")) for r in CARE_ROLES])
    organisations = models.ManyToManyField(Organisation, through="Membership", related_name="members")

    def actor(self, authentication: str, purpose: str = "direct care", *,
              organisations: tuple[str, ...] | None = None) -> Actor:
        """The user acting; `organisations`: its memberships' codes when already fetched (the token's query)."""
        codes = tuple(sorted(self.memberships.values_list("organisation_id", flat=True) if organisations is None
                             else organisations))
        return Actor(user=self.username, roles=(self.role,), organisations=codes, authentication=authentication,
                     purpose=purpose)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    job_title = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="one_membership")]


class ApiToken(models.Model):
    """A bearer token: only its SHA-256 is stored; it expires."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)


class LoginFailure(models.Model):
    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)


class PersonQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor, now: datetime | None = None) -> PersonQuerySet:
        """The people `actor` has a legitimate relationship with (or an unexpired break-glass for)."""
        return self.filter(pk__in=visible_people(actor, now))


# Each relationship of policy.RELATIONSHIPS but the registered practice (Person's own column) as the rows that
# hold it: (relationship, model, the holding organisation's column, a fixed condition). The one mapping of the
# rule to the schema: the list scope (`visible_people`) and one person's facts (`person_facts`) are built from
# it, as SQL written once (they run on every request; built as querysets each time they cost more CPU than
# the database spent answering them).
RELATIONSHIP_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("referral", "Referral", "to_organisation_id", ""),
    ("referral", "Referral", "from_organisation_id", ""),  # the referrer stays involved in its referral
    ("task", "Task", "organisation_id", "status IN ('offered', 'accepted', 'completed')"),
    ("care_team", "CareTeamMember", "organisation_id", "ended_at IS NULL"),
    ("open_episode", "Episode", "organisation_id", "ended_at IS NULL"),
)


def _table(model: str) -> str:
    return globals()[model]._meta.db_table


def _glass_sql() -> str:
    return (f"SELECT g.person_id FROM {_table('BreakGlass')} g JOIN {_table('User')} u ON u.id = g.user_id "
            "WHERE u.username = %s AND g.expires_at > %s")


def visible_people(actor: Actor, now: datetime | None = None) -> RawSQL:
    """The person ids `actor` may see, the care scope of the policy applied as one statement (a UNION: OR-ing
    joins instead multiplies a person's referrals by their tasks, care team and episodes), for `pk__in=`."""
    scope = care_scope(actor)
    codes = sorted(scope.organisations)
    marks = ", ".join(["%s"] * len(codes))
    parts: list[str] = []
    params: list[Any] = []
    if codes:
        if "registered_practice" in scope.relationships:
            parts.append(f"SELECT id FROM {_table('Person')} WHERE practice_id IN ({marks})")
            params += codes
        for kind, model, column, condition in RELATIONSHIP_ROWS:
            if kind in scope.relationships:
                parts.append(f"SELECT person_id FROM {_table(model)} WHERE person_id IS NOT NULL AND {column} IN "
                             f"({marks})" + (f" AND {condition}" if condition else ""))
                params += codes
    if scope.break_glass:
        parts.append(_glass_sql())
        params += [scope.user, connection.ops.adapt_datetimefield_value(now or timezone.now())]
    if not parts:
        return RawSQL(f"SELECT id FROM {_table('Person')} WHERE 1 = 0", [])
    return RawSQL(" UNION ".join(parts), params)


@lru_cache(maxsize=1)
def _facts_sql() -> str:
    parts = [f"SELECT '{kind}' AS kind, {column} AS value FROM {_table(model)} WHERE person_id = %s"
             + (f" AND {condition}" if condition else "") for kind, model, column, condition in RELATIONSHIP_ROWS]
    parts.append(f"SELECT 'consent', (SELECT status FROM {_table('Consent')} WHERE person_id = %s "
                 "ORDER BY recorded_at DESC, id DESC LIMIT 1)")
    parts.append(f"SELECT 'break_glass', 'unexpired' FROM ({_glass_sql()} AND g.person_id = %s) glass")
    return " UNION ".join(parts)


def person_facts(person_id: str, username: str, now: datetime) -> dict[str, set[str]]:
    """Every fact the policy decides on about one person, in one statement: the organisations holding each
    relationship, the latest consent's status, and whether `username` holds an unexpired break-glass."""
    facts: dict[str, set[str]] = {kind: set() for kind, *_ in RELATIONSHIP_ROWS} | {"consent": set(),
                                                                                 "break_glass": set()}
    params = [person_id] * (len(RELATIONSHIP_ROWS) + 1) + [username, connection.ops.adapt_datetimefield_value(now),
                                                           person_id]
    with connection.cursor() as cursor:
        cursor.execute(_facts_sql(), params)
        for kind, value in cursor.fetchall():
            if value is not None:
                facts[kind].add(value)
    return facts


class Person(models.Model):
    """Someone the care service serves, by the pseudonym the re-identification store links to an NHS number."""

    id = models.CharField(max_length=20, primary_key=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    practice = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="registered_people",
                                 help_text="registered GP practice")
    created_at = models.DateTimeField(default=timezone.now)

    objects = PersonQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.id})"


class Carer(models.Model):
    """A carer, recorded with the person they care for (who may be a person of the service too)."""

    cared_for = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="carers")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=100)
    telephone = models.CharField(max_length=40, blank=True)
    is_person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="caring_for")
    able_to_care = models.BooleanField(default=True)
    needs_support = models.BooleanField(default=False)


REFERRAL_SOURCES = [("acute_discharger", "acute discharger"), ("gp", "GP"), ("nhs_111", "NHS 111"),
                    ("care_home", "care home")]
REFERRAL_STATUSES = [("unmatched", "unmatched: waiting for a person"), ("received", "received"),
                     ("triaged", "triaged"), ("closed", "closed")]


class Referral(models.Model):
    """A referral into the SPoA with its discharge support form."""

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals")
    nhs_number = models.CharField(max_length=10, help_text="as referred; resolved only through the access seam")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    registered_practice = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=20, choices=REFERRAL_SOURCES)
    from_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="referrals_made")
    to_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="referrals_received")
    referred_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=REFERRAL_STATUSES, default="received")
    needs = models.TextField()
    mobility = models.TextField(blank=True)
    carer_situation = models.TextField(blank=True)
    recommended_services = models.JSONField(default=list)
    expected_discharge_date = models.DateField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)


SERVICES = [("domiciliary_care", "domiciliary care"), ("reablement", "reablement"),
            ("district_nursing", "district nursing"), ("urgent_community_response", "2-hour urgent community response"),
            ("community_bed", "community bed"), ("carer_support", "carer support"),
            ("social_work_assessment", "social work assessment"), ("chc_assessment", "NHS Continuing Healthcare")]
TASK_STATUSES = [("offered", "offered"), ("accepted", "accepted"), ("declined", "declined"),
                 ("completed", "completed"), ("cancelled", "cancelled")]


class Task(models.Model):
    """Work for a service, from triage: offered to an organisation, accepted (with an owner) or declined,
    due by its service standard."""

    referral = models.ForeignKey(Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="tasks")
    carer = models.ForeignKey(Carer, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    service = models.CharField(max_length=30, choices=SERVICES)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="tasks")
    standard = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=TASK_STATUSES, default="offered")
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_tasks")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    weeks = models.PositiveIntegerField(null=True, blank=True, help_text="length of a care package")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"])]


class TaskAlert(models.Model):
    """A warning before a breach, or a breach, raised once by the scheduled job."""

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=10, choices=[("warning", "warning"), ("breach", "breach")])
    standard = models.CharField(max_length=40)
    due_at = models.DateTimeField()
    raised_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "kind"], name="one_alert_of_each_kind")]


class DischargeNotification(models.Model):
    """Notice of a discharge to the registered practice, due within 24 hours of the discharge."""

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="discharge_notification")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="discharge_notifications")
    practice = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="discharge_notifications")
    discharged_at = models.DateTimeField()
    due_by = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False)


class CareTeamMember(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="care_team")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)
    role_in_team = models.CharField(max_length=100)
    added_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)


class Episode(models.Model):
    """An episode of care at an organisation (e.g. a care package); open until it ends."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="episodes")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    service = models.CharField(max_length=30, choices=SERVICES)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="episodes")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)


class Consent(models.Model):
    """Consent to share the care plan beyond the registered practice; the latest record stands."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    status = models.CharField(max_length=10, choices=[("given", "given"), ("withdrawn", "withdrawn")])
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)


class CarePlan(models.Model):
    """A personalised care and support plan; its content lives in versions, `version` is the current one."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="care_plan")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)


def next_plan_version(person_id: str, expected: int) -> int | None:
    """Compare-and-set of a person's plan: moves `version` on from `expected` and returns the plan's id, or None
    if the plan is no longer at `expected` (or there is none). One statement: its row lock is held to the end
    of the caller's transaction, so exactly one of two writers of one version wins and the other sees 0 rows."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table('CarePlan')} SET version = version + 1 WHERE person_id = %s AND version = %s "
                       "RETURNING id", [person_id, expected])
        row = cursor.fetchone()
    return None if row is None else row[0]


class CarePlanVersion(models.Model):
    """One version of a care plan, as its author saved it: never changed, never deleted."""

    plan = models.ForeignKey(CarePlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    author = models.ForeignKey(User, on_delete=models.PROTECT)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="one_version_number")]
        ordering = ["number"]


class BreakGlass(models.Model):
    """Emergency access to one person without a relationship: a reason, an expiry, a privacy officer's review."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="break_glass")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="break_glass")
    reason = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)


class MdtMeeting(models.Model):
    """A multidisciplinary team meeting of a PCN or locality, reviewing people from its case lists."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="mdt_meetings")
    title = models.CharField(max_length=200)
    held_at = models.DateTimeField()
    case_list = models.CharField(max_length=40, blank=True, help_text="the case list it worked from")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)


class MdtAttendee(models.Model):
    meeting = models.ForeignKey(MdtMeeting, on_delete=models.CASCADE, related_name="attendees")
    name = models.CharField(max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    role_in_team = models.CharField(max_length=100)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)


class MdtDecision(models.Model):
    """What the MDT decided about one person; its actions may become tasks for services."""

    meeting = models.ForeignKey(MdtMeeting, on_delete=models.PROTECT, related_name="decisions")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="mdt_decisions")
    decision = models.TextField()
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)


class MdtAction(models.Model):
    decision = models.ForeignKey(MdtDecision, on_delete=models.PROTECT, related_name="actions")
    description = models.TextField()
    task = models.OneToOneField(Task, null=True, blank=True, on_delete=models.PROTECT, related_name="mdt_action")


CHC_CHECKLIST_OUTCOMES = [("positive", "positive: a full assessment follows"), ("negative", "negative: not eligible")]
CHC_PLACES = [("home", "at home (Discharge to Assess)"),
              ("care_home", "in a care home placement (Discharge to Assess)"),
              ("hospital", "in hospital (an exception, with its reason)")]
CHC_DECISIONS = [("eligible", "eligible: NHS Continuing Healthcare"), ("not_eligible", "not eligible")]
PHB_STATUSES = [("offered", "offered"), ("accepted", "accepted"), ("declined", "declined")]


class ChcCase(models.Model):
    """NHS Continuing Healthcare for one person: the checklist, the assessment (at home or in a placement
    under Discharge to Assess, not in hospital but by exception), and the decision, due within 28 days of a
    positive checklist (the standard `chc_decision_28d`, as data); a personal health budget with the decision."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="chc_cases")
    checklist_at = models.DateTimeField()
    checklist_outcome = models.CharField(max_length=10, choices=CHC_CHECKLIST_OUTCOMES)
    checklist_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="chc_cases",
                                     help_text="the team that assesses and decides")
    assessment_place = models.CharField(max_length=10, choices=CHC_PLACES, blank=True)
    hospital_reason = models.TextField(blank=True)
    task = models.OneToOneField(Task, null=True, blank=True, on_delete=models.PROTECT, related_name="chc_case")
    decision_due_by = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=12, choices=CHC_DECISIONS, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision_late = models.BooleanField(default=False)
    phb_status = models.CharField(max_length=10, choices=PHB_STATUSES, blank=True,
                                  help_text="personal health budget")
    phb_weekly_amount = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    note = models.TextField(blank=True)
