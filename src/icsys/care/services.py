"""The care service's operations, called by the API (and the pages to come): each takes a `Ctx` (the actor,
its auditor and where the release goes), asks `icsys.access.policy` and records itself in the audit database.

Errors are `CareError`s with an HTTP status: NotFound (404: not there, or not visible to this actor; the
two are never told apart), Forbidden (403, with the policy's reason), Conflict / PreconditionFailed (409 /
412, with the current record), Invalid (422, naming the field)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from icsys.access import Actor, Auditor, open_audit
from icsys.access.policy import (
    CARE_PLAN,
    LIST,
    PERSON,
    READ,
    URGENT_CARE_KINDS,
    URGENT_CARE_SUMMARY,
    WRITE,
    AccessDenied,
    CareRelationship,
    break_glass_refusal,
    care_refusal,
    refusal,
)
from icsys.access.reidentify import NhsNumberError, check_nhs_number, open_reidentification
from icsys.care import models as m
from icsys.care.standards import DISCHARGE_NOTIFICATION, load_standards, standard_for


class CareError(Exception):
    status = 400

    def __init__(self, message: str, *, current: Any = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.current, self.field = message, current, field


class NotFound(CareError):
    status = 404


class Forbidden(CareError):
    status = 403


class Conflict(CareError):
    status = 409


class PreconditionFailed(CareError):
    status = 412


class Invalid(CareError):
    status = 422


@lru_cache(maxsize=4)
def _audit_database(url: str):  # one schema check per process
    return open_audit(url)


def request_auditor(actor: Actor) -> Auditor:
    """A web request's auditor: its records held and written in one insert when the request ends, before
    the response leaves (icsys.web.middleware), inside the request's transaction when it writes."""
    return Auditor(actor, _audit_database(settings.ICSYS_AUDIT_URL), deferred=True)


@dataclass
class Ctx:
    """Who acts, recorded where: every operation is audited through `auditor` with `via` as destination
    (the request's auditor when given, else one that writes each record at once)."""

    actor: Actor
    via: str
    auditor: Auditor | None = None
    _facts: dict[tuple[str, bool], CareRelationship] = field(init=False, default_factory=dict)
    _urgent: frozenset[str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.auditor is None or self.auditor.actor != self.actor:
            self.auditor = Auditor(self.actor, _audit_database(settings.ICSYS_AUDIT_URL))

    def record(self, action: str, what: str, people: int | None, person: str | None = None) -> None:
        """One audit record; `person`: the one person it is about (the privacy officer lists by it). Every
        operation ends by recording itself, and a write may change a relationship: the facts are forgotten."""
        self.auditor.record(action, what, people=people, destination=self.via, person=person)
        self._facts.clear()

    def facts(self, person: m.Person, *, urgent_care: bool = False) -> CareRelationship:
        """The policy's facts about `person` for this actor, gathered once an operation (which asks again,
        e.g. for the plan and then for the person, and must not pay the queries twice). Which of the actor's
        organisations give urgent care is asked only for the urgent care summary, the one rule that uses it."""
        key = (person.pk, urgent_care)
        if key not in self._facts:
            if urgent_care and self._urgent is None:
                self._urgent = urgent_care_organisations(self.actor)
            self._facts[key] = relationship(person, self.actor, urgent=self._urgent if urgent_care else frozenset())
        return self._facts[key]

    def require(self, action: str) -> None:
        reason = refusal(self.actor, action, identifiable=True)
        if reason:
            raise Forbidden(reason)

    def require_role(self, *roles: str, doing: str) -> None:
        if not any(self.actor.has_role(r) for r in roles):
            raise Forbidden(f"{self.actor.user} ({', '.join(self.actor.roles)}) may not {doing}: that is for "
                            f"the role {' or '.join(roles)}")

    def member_of(self, code: str, doing: str) -> None:
        if code not in self.actor.organisations:
            raise Forbidden(f"{self.actor.user} may not {doing}: that is for {code}'s staff")


# --- paging ---------------------------------------------------------------------------------------------
DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET = 50, 200, 1_000_000  # a list's page: `limit` rows from `offset`
T = TypeVar("T")


@dataclass(frozen=True)
class Paging:
    """Which page of a list: `limit` rows (1..MAX_LIMIT) from `offset` (0..MAX_OFFSET)."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def parse(cls, limit: Any = None, offset: Any = None) -> Paging:
        """From a query string's text: a bad value is Invalid naming its parameter, never clamped silently."""
        values = []
        for name, text, default, top, bottom in (("limit", limit, DEFAULT_LIMIT, MAX_LIMIT, 1),
                                                  ("offset", offset, 0, MAX_OFFSET, 0)):
            if text is None or text == "":
                values.append(default)
                continue
            try:
                value = int(str(text))
            except ValueError:
                value = -1
            if not bottom <= value <= top:
                raise Invalid(f"{name}: a whole number from {bottom} to {top}, not {text!r}", field=name)
            values.append(value)
        return cls(limit=values[0], offset=values[1])


@dataclass
class Page(Generic[T]):
    """One page of a list and how many rows the actor's scope holds in all (counted in SQL, in scope)."""

    rows: list[T]
    total: int
    paging: Paging

    @property
    def next_offset(self) -> int | None:
        end = self.paging.offset + len(self.rows)
        return end if self.rows and end < self.total else None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def page_of(qs: QuerySet, paging: Paging | None) -> Page:
    """The page of an ordered, already-scoped queryset by LIMIT/OFFSET in SQL, and its total: a short page
    that is not empty ends the list, so its total is known without the COUNT(*) a full or empty one needs."""
    paging = paging or Paging()
    rows = list(qs[paging.offset:paging.offset + paging.limit])
    total = paging.offset + len(rows) if 0 < len(rows) < paging.limit else qs.count()
    return Page(rows, total, paging)


def reidentification():
    return open_reidentification(settings.ICSYS_REID_URL)


def _now() -> datetime:
    return timezone.now()


# --- the decision point's facts ---------------------------------------------------------------------------
def urgent_care_organisations(actor: Actor) -> frozenset[str]:
    """Which of the actor's organisations give urgent care (NHS 111, ambulance)."""
    return frozenset(m.Organisation.objects.filter(code__in=actor.organisations, kind__in=URGENT_CARE_KINDS)
                     .values_list("code", flat=True))


def relationship(person: m.Person, actor: Actor, now: datetime | None = None, *,
                 urgent: frozenset[str] | None = None) -> CareRelationship:
    """The facts the policy decides on, for one person and one actor, in one query (models.person_facts)."""
    by_kind = m.person_facts(person.pk, actor.user, now or _now())
    return CareRelationship(
        registered_practice=person.practice_id,
        referral=frozenset(by_kind["referral"]), task=frozenset(by_kind["task"]),
        care_team=frozenset(by_kind["care_team"]), open_episode=frozenset(by_kind["open_episode"]),
        consent_to_share=by_kind["consent"] == {"given"}, break_glass=bool(by_kind["break_glass"]),
        urgent_care_organisations=urgent_care_organisations(actor) if urgent is None else urgent,
    )


def person_for(ctx: Ctx, person_id: str, *, action: str = READ, record: str = PERSON) -> m.Person:
    """The person, if the policy lets this actor `action` their `record`; else NotFound (no relationship:
    the person's existence is not revealed) or Forbidden (a relationship, but e.g. no consent)."""
    ctx.require(action)
    person = m.Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound(f"no person {person_id} that you may see")
    reason = care_refusal(ctx.actor, action, ctx.facts(person, urgent_care=record == URGENT_CARE_SUMMARY), record)
    if reason is None:
        return person
    if record != PERSON and care_refusal(ctx.actor, action, ctx.facts(person), PERSON) is None:
        raise Forbidden(reason)
    raise NotFound(f"no person {person_id} that you may see")


def visible_people(ctx: Ctx) -> QuerySet[m.Person]:
    ctx.require(LIST)
    try:
        return m.Person.objects.visible_to(ctx.actor)
    except AccessDenied as exc:
        raise Forbidden(str(exc)) from exc


def list_people(ctx: Ctx, paging: Paging | None = None) -> Page[m.Person]:
    """A page of the people the actor may see, by name; the scope is SQL before the count and the limit."""
    page = page_of(visible_people(ctx).order_by("family_name", "given_name", "id"), paging)
    ctx.record(LIST, "care.person", len(page))
    return page


def read_person(ctx: Ctx, person_id: str) -> dict[str, Any]:
    person = person_for(ctx, person_id)
    nhs = reidentification().nhs_number_of(ctx.auditor, person.id, why=f"{ctx.via} (display)")
    carers = list(person.carers.all())
    ctx.record(READ, f"care.person person={person.id}", 1, person.id)
    return {"person": person, "nhs_number": nhs, "carers": carers,
            "care_team": list(person.care_team.filter(ended_at__isnull=True).select_related("organisation")),
            "episodes": list(person.episodes.select_related("organisation"))}


def lookup(ctx: Ctx, nhs_number: str) -> m.Person:
    """A person by NHS number: resolved through the re-identification store (audited), then the policy."""
    ctx.require(READ)
    number = _checked_number(nhs_number, "query.nhs_number")
    person_id = reidentification().resolve(ctx.auditor, number, why=f"{ctx.via} (lookup)",
                                           allow_synthetic=settings.ICSYS_ALLOW_TEST_NHS_NUMBERS)
    if person_id is None or not m.Person.objects.filter(pk=person_id).exists():
        raise NotFound("no person with that NHS number that you may see")
    person = person_for(ctx, person_id)
    ctx.record(READ, f"care.person person={person.id} (by NHS number)", 1, person.id)
    return person


def _checked_number(value: str, where: str) -> str:
    try:
        return check_nhs_number(value, allow_synthetic=settings.ICSYS_ALLOW_TEST_NHS_NUMBERS)
    except NhsNumberError as exc:
        raise Invalid(str(exc), field=where) from exc


def _organisation(code: str, where: str, kinds: tuple[str, ...] | None = None) -> m.Organisation:
    org = m.Organisation.objects.filter(pk=code).first()
    if org is None:
        raise Invalid(f"{where}: no organisation {code!r}", field=where)
    if kinds and org.kind not in kinds:
        raise Invalid(f"{where}: {code} is a {org.get_kind_display()}, not a {' or '.join(kinds)}", field=where)
    return org


# --- referrals ------------------------------------------------------------------------------------------
def create_referral(ctx: Ctx, user: m.User, data: dict[str, Any]) -> m.Referral:
    """A referral into the SPoA: the NHS number checked, resolved through the re-identification store,
    a duplicate (an open referral of the same person) flagged, an unknown number left in the unmatched queue."""
    ctx.require(WRITE)
    number = _checked_number(data["nhs_number"], "nhs_number")
    source_org = _organisation(data["from_organisation"], "from_organisation")
    ctx.member_of(source_org.code, "refer for another organisation")
    spoa = _organisation(data["to_organisation"], "to_organisation", ("spoa",))
    practice = _organisation(data["registered_practice"], "registered_practice", ("practice",))
    for service in data.get("recommended_services") or []:
        if service not in dict(m.SERVICES):
            raise Invalid(f"recommended_services: unknown service {service!r}", field="recommended_services")
    with transaction.atomic():
        person_id = reidentification().resolve(ctx.auditor, number, why=f"{ctx.via} (new referral)",
                                               allow_synthetic=settings.ICSYS_ALLOW_TEST_NHS_NUMBERS)
        person = _person_from_referral(person_id, data, practice) if person_id else None
        duplicate = None
        if person is not None:
            duplicate = m.Referral.objects.filter(person=person, status__in=["received", "triaged"]).first()
        else:
            duplicate = m.Referral.objects.filter(nhs_number=number, status="unmatched").first()
        referral = m.Referral.objects.create(
            person=person, nhs_number=number, given_name=data["given_name"], family_name=data["family_name"],
            birth_date=data["birth_date"], registered_practice=practice, source=data["source"],
            from_organisation=source_org, to_organisation=spoa, referred_by=user,
            status="received" if person else "unmatched", needs=data["needs"], mobility=data.get("mobility", ""),
            carer_situation=data.get("carer_situation", ""),
            recommended_services=list(data.get("recommended_services") or []),
            expected_discharge_date=data.get("expected_discharge_date"), duplicate_of=duplicate)
        for carer in data.get("carers") or []:
            if person is not None:
                m.Carer.objects.create(cared_for=person, **carer)
        ctx.record(WRITE, f"care.referral {referral.id} person={person.id if person else 'unmatched'}", 1,
                   person.id if person else None)
    return referral


def _person_from_referral(person_id: str, data: dict[str, Any], practice: m.Organisation) -> m.Person:
    person, _ = m.Person.objects.get_or_create(
        pk=person_id, defaults={"given_name": data["given_name"], "family_name": data["family_name"],
                                "birth_date": data["birth_date"], "practice": practice})
    return person


def referrals_for(ctx: Ctx, *, unmatched: bool = False, paging: Paging | None = None) -> Page[m.Referral]:
    """A page of referrals to or from the actor's organisations (the SPoA's queue), and those of people it may
    see: oldest waiting first, as the SPoA triages them."""
    ctx.require(LIST)
    orgs = list(ctx.actor.organisations)
    qs = m.Referral.objects.select_related("person", "to_organisation", "from_organisation")
    if unmatched:
        qs = qs.filter(status="unmatched", to_organisation__in=orgs)
    else:
        people = m.Person.objects.visible_to(ctx.actor).values("pk")
        qs = qs.filter(to_organisation__in=orgs) | qs.filter(from_organisation__in=orgs) | qs.filter(person__in=people)
    page = page_of(qs.distinct().order_by("created_at", "id"), paging)
    ctx.record(LIST, "care.referral" + (" (unmatched)" if unmatched else ""), len({r.nhs_number for r in page}))
    return page


def _released(ctx: Ctx, kind: str, rid: int, record: Any, addressed_to: set[str | None], person: m.Person | None,
              action: str) -> Any:
    """`record` (a referral, a task) if it is addressed to one of the actor's organisations, or is about a
    person the policy lets the actor `action` (any legitimate relationship: registered practice, care team,
    open episode, ...); else NotFound, never telling "not there" from "not yours"."""
    if record is not None:
        if addressed_to & set(ctx.actor.organisations):
            return record
        if person is not None and care_refusal(ctx.actor, action, ctx.facts(person)) is None:
            return record
    raise NotFound(f"no {kind} {rid} that you may see")


def referral_for(ctx: Ctx, referral_id: int, *, action: str = READ) -> m.Referral:
    ctx.require(action)
    referral = m.Referral.objects.filter(pk=referral_id).select_related("person").first()
    return _released(ctx, "referral", referral_id, referral,
                     {referral.to_organisation_id, referral.from_organisation_id} if referral else set(),
                     referral.person if referral else None, action)


def read_referral(ctx: Ctx, referral_id: int) -> m.Referral:
    referral = referral_for(ctx, referral_id)
    ctx.record(READ, f"care.referral {referral.id} person={referral.person_id or 'unmatched'}", 1,
               referral.person_id)
    return referral


def resolve_referral(ctx: Ctx, referral_id: int, *, nhs_number: str | None, register_new: bool) -> m.Referral:
    """An unmatched referral resolved by the SPoA: a corrected NHS number looked up again, or (having
    checked the spine) a new person linked. Each resolution is an audited re-identification."""
    referral = referral_for(ctx, referral_id, action=WRITE)
    ctx.require_role("care_coordinator", doing="resolve an unmatched referral")
    ctx.member_of(referral.to_organisation_id, "resolve another organisation's referral")
    if referral.status != "unmatched":
        raise Conflict(f"referral {referral.id} is not unmatched (it is {referral.status})")
    number = _checked_number(nhs_number or referral.nhs_number, "nhs_number")
    link = reidentification()
    allow = settings.ICSYS_ALLOW_TEST_NHS_NUMBERS
    with transaction.atomic():
        person_id = link.resolve(ctx.auditor, number, why=f"{ctx.via} (resolve referral {referral.id})",
                                 allow_synthetic=allow)
        if person_id is None and register_new:
            person_id = link.link(ctx.auditor, number, why=f"{ctx.via} (register from referral {referral.id})",
                                  allow_synthetic=allow)
        if person_id is None:
            raise Conflict(f"NHS number {number} is still unknown: correct it, or register a new person")
        data = {"given_name": referral.given_name, "family_name": referral.family_name,
                "birth_date": referral.birth_date}
        referral.person = _person_from_referral(person_id, data, referral.registered_practice)
        referral.nhs_number, referral.status = number, "received"
        referral.save(update_fields=["person", "nhs_number", "status"])
        ctx.record(WRITE, f"care.referral {referral.id} resolved person={person_id}", 1, person_id)
    return referral


def triage(ctx: Ctx, user: m.User, referral_id: int, tasks: list[dict[str, Any]]) -> list[m.Task]:
    """The SPoA's triage: a task for each service, offered to its organisation, due by its standard."""
    referral = referral_for(ctx, referral_id, action=WRITE)
    ctx.require_role("care_coordinator", doing="triage a referral")
    ctx.member_of(referral.to_organisation_id, "triage another organisation's referral")
    if referral.person is None:
        raise Conflict(f"referral {referral.id} is unmatched: resolve the person first")
    if referral.status == "closed":
        raise Conflict(f"referral {referral.id} is closed")
    now = _now()
    made: list[m.Task] = []
    with transaction.atomic():
        for i, spec in enumerate(tasks):
            where = f"tasks.{i}"
            org = _organisation(spec["organisation"], f"{where}.organisation")
            carer = None
            if spec.get("carer") is not None:
                carer = referral.person.carers.filter(pk=spec["carer"]).first()
                if carer is None:
                    raise Invalid(f"{where}.carer: no carer {spec['carer']} of this person", field=f"{where}.carer")
            standard = standard_for(spec["service"])
            made.append(m.Task.objects.create(
                referral=referral, person=referral.person, carer=carer, service=spec["service"], organisation=org,
                standard=standard.code, note=spec.get("note", ""), created_by=user, created_at=now,
                due_at=standard.due(now)))
        referral.status = "triaged"
        referral.save(update_fields=["status"])
        # not get_or_create: two triages at once may both open one, and get() then fails on every later triage
        # (the load run's 500s); a second open episode of the SPoA is harmless, closed with the first
        spoa_episode = {"person": referral.person, "organisation": referral.to_organisation,
                        "service": "social_work_assessment", "ended_at": None}
        if not m.Episode.objects.filter(**spoa_episode).exists():
            m.Episode.objects.create(**spoa_episode, started_at=now)
        ctx.record(WRITE, f"care.task x{len(made)} for referral {referral.id} person={referral.person_id}", 1,
                   referral.person_id)
    return made


def record_discharge(ctx: Ctx, referral_id: int, discharged_at: datetime) -> m.DischargeNotification:
    """The discharge, and its notification to the registered practice (due within 24 hours; sent now)."""
    referral = referral_for(ctx, referral_id, action=WRITE)
    ctx.member_of(referral.from_organisation_id, "record a discharge for another organisation")
    if referral.person is None:
        raise Conflict(f"referral {referral.id} is unmatched: resolve the person first")
    if hasattr(referral, "discharge_notification"):
        raise Conflict(f"referral {referral.id}: the discharge is already recorded",
                       current=referral.discharge_notification)
    standard = load_standards()[DISCHARGE_NOTIFICATION]
    now = _now()
    with transaction.atomic():
        referral.discharged_at = discharged_at
        referral.save(update_fields=["discharged_at"])
        note = m.DischargeNotification.objects.create(
            referral=referral, person=referral.person, practice=referral.registered_practice,
            discharged_at=discharged_at, due_by=standard.due(discharged_at), sent_at=now,
            late=now > standard.due(discharged_at),
            summary=f"Discharged from {referral.from_organisation.name} on {discharged_at:%Y-%m-%d %H:%M}. "
                    f"Needs: {referral.needs}. Services recommended: "
                    f"{', '.join(referral.recommended_services) or 'none'}.")
        ctx.record(WRITE, f"care.discharge_notification {note.id} person={referral.person_id}", 1,
                   referral.person_id)
    return note


def notifications_for(ctx: Ctx, paging: Paging | None = None) -> Page[m.DischargeNotification]:
    """A page of the discharge notifications of the actor's practices, newest discharge first."""
    ctx.require(LIST)
    page = page_of(m.DischargeNotification.objects.filter(practice__in=ctx.actor.organisations)
                   .select_related("person").order_by("-discharged_at", "-id"), paging)
    ctx.record(LIST, "care.discharge_notification", len({n.person_id for n in page}))
    return page


# --- tasks ----------------------------------------------------------------------------------------------
def tasks_for(ctx: Ctx, status: str | None = None, paging: Paging | None = None) -> Page[m.Task]:
    """A page of the tasks of the actor's organisations (a service's list) with their alerts, soonest due
    first."""
    ctx.require(LIST)
    qs = m.Task.objects.filter(organisation__in=ctx.actor.organisations)
    if ctx.actor.has_role("care_coordinator"):  # the SPoA follows the tasks of its referrals too
        qs = qs | m.Task.objects.filter(referral__to_organisation__in=ctx.actor.organisations)
    if status:
        qs = qs.filter(status=status)
    page = page_of(qs.distinct().select_related("person", "organisation", "owner").prefetch_related("alerts")
                   .order_by("due_at", "id"), paging)
    ctx.record(LIST, "care.task", len({t.person_id for t in page}))
    return page


def task_for(ctx: Ctx, task_id: int, *, action: str = READ) -> m.Task:
    """A task of the actor's organisations, of a referral to them, or of a person they care for (the care
    team, the registered practice: the same relationships as the person's); changing it is for its service."""
    ctx.require(action)
    task = m.Task.objects.filter(pk=task_id).select_related("person", "referral", "owner").first()
    addressed = {task.organisation_id, task.referral.to_organisation_id if task.referral else None} if task else set()
    return _released(ctx, "task", task_id, task, addressed, task.person if task else None, action)


def read_task(ctx: Ctx, task_id: int) -> m.Task:
    task = task_for(ctx, task_id)
    ctx.record(READ, f"care.task {task.id} person={task.person_id}", 1, task.person_id)
    return task


def respond_to_task(ctx: Ctx, user: m.User, task_id: int, *, accept: bool, owner: str | None = None,
                    reason: str = "") -> m.Task:
    """The service's half of the handshake: accept (with an owner; opens an episode) or decline (with a reason)."""
    task = task_for(ctx, task_id, action=WRITE)
    ctx.member_of(task.organisation_id, "accept or decline another organisation's task")
    if task.status != "offered":
        raise Conflict(f"task {task.id} is {task.status}, not offered", current=task)
    if not accept and not reason.strip():
        raise Invalid("reason: say why the task is declined", field="reason")
    owner_user = user
    if owner:
        owner_user = m.User.objects.filter(username=owner, memberships__organisation=task.organisation).first()
        if owner_user is None:
            raise Invalid(f"owner: no user {owner!r} at {task.organisation_id}", field="owner")
    with transaction.atomic():
        now = _now()
        task.status, task.responded_at = ("accepted" if accept else "declined"), now
        task.owner = owner_user if accept else None
        task.decline_reason = "" if accept else reason
        task.version += 1
        task.save()
        if accept:
            m.Episode.objects.create(person=task.person, organisation=task.organisation, service=task.service,
                                     task=task, started_at=now)
        ctx.record(WRITE, f"care.task {task.id} {task.status} person={task.person_id}", 1, task.person_id)
    return task


# Done in one go: completing the task ends its episode (a package of care stays open until it ends).
ONE_OFF_SERVICES = frozenset({"social_work_assessment", "chc_assessment", "urgent_community_response"})


def complete_task(ctx: Ctx, task_id: int, *, outcome: str, weeks: int | None = None,
                  end_episode: bool = False) -> m.Task:
    """Done: the assessment made, the visit paid, the package set (weeks) or ended (end_episode)."""
    task = task_for(ctx, task_id, action=WRITE)
    ctx.member_of(task.organisation_id, "complete another organisation's task")
    if task.status not in ("accepted", "completed"):
        raise Conflict(f"task {task.id} is {task.status}: accept it first", current=task)
    with transaction.atomic():
        now = _now()
        if task.status == "accepted":
            task.status, task.completed_at = "completed", now
        task.outcome, task.weeks = outcome, weeks if weeks is not None else task.weeks
        task.version += 1
        task.save()
        if end_episode or task.service in ONE_OFF_SERVICES:
            task.episodes.filter(ended_at__isnull=True).update(ended_at=now)
        _close_if_done(task.referral, now)
        ctx.record(WRITE, f"care.task {task.id} completed person={task.person_id}", 1, task.person_id)
    return task


def _close_if_done(referral: m.Referral | None, now: datetime) -> None:
    """A referral closes when every task is done and every package ended (and the SPoA's episode with it)."""
    if referral is None or referral.tasks.filter(status__in=["offered", "accepted"]).exists():
        return
    if m.Episode.objects.filter(task__referral=referral, ended_at__isnull=True).exists():
        return
    referral.status = "closed"
    referral.save(update_fields=["status"])
    m.Episode.objects.filter(person=referral.person, organisation=referral.to_organisation,
                             ended_at__isnull=True).update(ended_at=now)


def tick(now: datetime | None = None) -> dict[str, int]:
    """The scheduled job: a warning for each open task near its due time, a breach for each past it, once
    each; late discharge notifications flagged. Returns how many of each were raised."""
    now = now or _now()
    raised = {"warning": 0, "breach": 0, "late_notifications": 0}
    standards = load_standards()
    open_tasks = m.Task.objects.filter(status__in=["offered", "accepted"]).exclude(alerts__kind="breach")
    for task in open_tasks.iterator():
        standard = standards[task.standard]
        kinds = ["breach"] if now >= task.due_at else (["warning"] if now >= standard.warn_at(task.due_at) else [])
        if kinds == ["breach"] and not task.alerts.filter(kind="warning").exists():
            kinds = ["warning", "breach"]  # a breach is always preceded by its warning in the record
        for kind in kinds:
            _, made = m.TaskAlert.objects.get_or_create(task=task, kind=kind, defaults={
                "standard": task.standard, "due_at": task.due_at, "raised_at": now})
            raised[kind] += made
    raised["late_notifications"] = m.DischargeNotification.objects.filter(
        sent_at__isnull=True, due_by__lt=now, late=False).update(late=True)
    return raised


# --- care plans -----------------------------------------------------------------------------------------
def _current_version(person: m.Person) -> m.CarePlanVersion | None:
    """The plan's current version, with its plan, author and organisation, in one query: only that row, never
    the other versions (a plan edited for years has many)."""
    return (m.CarePlanVersion.objects.filter(plan__person=person, number=F("plan__version"))
            .select_related("plan", "author", "organisation").first())


def care_plan(ctx: Ctx, person_id: str) -> tuple[m.CarePlan, m.CarePlanVersion]:
    person = person_for(ctx, person_id, record=CARE_PLAN)
    version = _current_version(person)
    if version is None:
        raise NotFound(f"person {person_id} has no care plan")
    ctx.record(READ, f"care.care_plan v{version.number} person={person.id}", 1, person.id)
    return version.plan, version


def save_care_plan(ctx: Ctx, user: m.User, person_id: str, content: dict[str, Any],
                   expected_version: int | None) -> tuple[m.CarePlan, m.CarePlanVersion]:
    """A new version of the plan, if `expected_version` is still the current one (None: a new plan).
    A stale edit is refused with the current version (PreconditionFailed), never written over. An edit is
    two statements: the version moved on under the plan's row lock (compare-and-set), and the version's row."""
    ctx.require(WRITE)
    person = person_for(ctx, person_id, action=WRITE, record=CARE_PLAN)
    org = _acting_organisation(ctx, person)
    if expected_version is None:
        with transaction.atomic():
            plan, created = m.CarePlan.objects.get_or_create(person=person, defaults={"version": 1})
            if created:
                return plan, _new_version(ctx, user, plan, 1, content, org)
        raise Conflict(f"person {person_id} already has a care plan (version {plan.version}): edit it",
                       current=_current_version(person))
    # no savepoint: inside a request's transaction (icsys.web.middleware) the two writes are its own; alone,
    # this block is the transaction. A stale edit writes nothing and is refused after it.
    with transaction.atomic(savepoint=False):
        plan_id = m.next_plan_version(person.pk, expected_version)
        if plan_id is not None:
            plan = m.CarePlan(pk=plan_id, person=person, version=expected_version + 1)
            return plan, _new_version(ctx, user, plan, expected_version + 1, content, org)
    current = _current_version(person)
    if current is None:
        raise NotFound(f"person {person_id} has no care plan")
    raise PreconditionFailed(f"care plan changed: you edited version {expected_version}, the current version is "
                             f"{current.number}", current=current)


def _new_version(ctx: Ctx, user: m.User, plan: m.CarePlan, number: int, content: dict[str, Any],
                 org: str) -> m.CarePlanVersion:
    version = m.CarePlanVersion.objects.create(plan=plan, number=number, content=content, author=user,
                                               organisation_id=org)
    ctx.record(WRITE, f"care.care_plan v{number} person={plan.person_id}", 1, plan.person_id)
    return version


def _acting_organisation(ctx: Ctx, person: m.Person) -> str:
    """The organisation an author writes for: the one holding the relationship (the practice first)."""
    facts = ctx.facts(person)
    for rel in ("registered_practice", "care_team", "open_episode", "task", "referral"):
        mine = sorted(facts.holders(rel) & set(ctx.actor.organisations))
        if mine:
            return mine[0]
    return sorted(ctx.actor.organisations)[0]


def care_plan_versions(ctx: Ctx, person_id: str) -> list[m.CarePlanVersion]:
    person = person_for(ctx, person_id, record=CARE_PLAN)
    versions = list(m.CarePlanVersion.objects.filter(plan__person=person)
                    .select_related("plan", "author", "organisation"))
    ctx.record(READ, f"care.care_plan versions x{len(versions)} person={person.id}", 1, person.id)
    return versions


def urgent_care_summary(ctx: Ctx, person_id: str) -> dict[str, Any]:
    """The resuscitation decision and end-of-life preferences, for urgent care (and anyone who may read
    the plan): what national guidance shares regardless of the plan's consent."""
    person = person_for(ctx, person_id, record=URGENT_CARE_SUMMARY)
    current = _current_version(person)
    content = current.content if current else {}
    eol = content.get("end_of_life") or {}
    ctx.record(READ, f"care.urgent_care_summary person={person.id}", 1, person.id)
    return {"person_id": person.id, "given_name": person.given_name, "family_name": person.family_name,
            "birth_date": person.birth_date, "resuscitation_decision": eol.get("resuscitation_decision"),
            "preferred_place_of_care": eol.get("preferred_place_of_care"),
            "preferred_place_of_death": eol.get("preferred_place_of_death"), "contact": eol.get("contact")}


# --- consent, care team, break-glass --------------------------------------------------------------------
def record_consent(ctx: Ctx, user: m.User, person_id: str, status: str, note: str = "") -> m.Consent:
    """Consent given or withdrawn, recorded by someone caring for the person; it takes effect at once."""
    person = person_for(ctx, person_id, action=WRITE)
    ctx.require_role("clinician", "care_coordinator", "social_worker", "mdt_lead", doing="record consent")
    consent = m.Consent.objects.create(person=person, status=status, recorded_by=user, note=note)
    ctx.record(WRITE, f"care.consent {status} person={person.id}", 1, person.id)
    return consent


def add_to_care_team(ctx: Ctx, person_id: str, organisation: str, role_in_team: str,
                     username: str | None = None) -> m.CareTeamMember:
    person = person_for(ctx, person_id, action=WRITE)
    org = _organisation(organisation, "organisation")
    user = None
    if username:
        user = m.User.objects.filter(username=username, memberships__organisation=org).first()
        if user is None:
            raise Invalid(f"user: no user {username!r} at {org.code}", field="user")
    member = m.CareTeamMember.objects.create(person=person, organisation=org, user=user, role_in_team=role_in_team)
    ctx.record(WRITE, f"care.care_team +{org.code} person={person.id}", 1, person.id)
    return member


def break_glass(ctx: Ctx, user: m.User, person_id: str, reason: str) -> m.BreakGlass:
    """Emergency access without a relationship: a clinician, a reason, an expiry; flagged for review."""
    ctx.require(READ)
    ctx.require_role("clinician", doing="break the glass")
    problem = break_glass_refusal(reason)
    if problem:
        raise Invalid(f"reason: {problem}", field="reason")
    person = m.Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound(f"no person {person_id}")
    org = m.Organisation.objects.get(pk=sorted(ctx.actor.organisations)[0])
    now = _now()
    grant = m.BreakGlass.objects.create(user=user, organisation=org, person=person, reason=reason.strip(),
                                        started_at=now,
                                        expires_at=now + timedelta(hours=settings.ICSYS_BREAK_GLASS_HOURS))
    ctx.record(READ, f"care.break_glass {grant.id} person={person.id} reason={reason.strip()!r}", 1,
               person.id)
    return grant


def break_glass_for_review(ctx: Ctx, paging: Paging | None = None) -> Page[m.BreakGlass]:
    """A page of every break-glass for the privacy officer: those not yet reviewed first, then the reviewed,
    each newest first (whether reviewed, not `reviewed_at` itself: PostgreSQL sorts an empty one last)."""
    ctx.require_role("privacy_officer", doing="review break-glass")
    reviewed = Case(When(reviewed_at__isnull=True, then=Value(0)), default=Value(1))
    page = page_of(m.BreakGlass.objects.select_related("user", "organisation")
                   .order_by(reviewed, "-started_at", "-id"), paging)
    ctx.record("audit", "care.break_glass", len({b.person_id for b in page}))
    return page


def review_break_glass(ctx: Ctx, user: m.User, grant_id: int, note: str) -> m.BreakGlass:
    ctx.require_role("privacy_officer", doing="review break-glass")
    grant = m.BreakGlass.objects.filter(pk=grant_id).first()
    if grant is None:
        raise NotFound(f"no break-glass {grant_id}")
    if grant.reviewed_at is not None:
        raise Conflict(f"break-glass {grant_id} was reviewed already")
    grant.reviewed_by, grant.reviewed_at, grant.review_note = user, _now(), note
    grant.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    ctx.record("audit", f"care.break_glass {grant.id} reviewed", 0)
    return grant


AUDIT_LIMIT, AUDIT_MAX_LIMIT = 200, 5000  # the audit log's page: longer than other lists, for a review


@dataclass
class AuditPage(Page[dict]):
    """A page of the audit log, and the newest record its walk holds to."""

    until: int | None = None


def audit_log(ctx: Ctx, *, user: str | None = None, person: str | None = None, paging: Paging | None = None,
              until: int | None = None) -> AuditPage:
    """A page of the audit records, newest first, for the privacy officer: every access to one person (the
    records' person column), or every access by one user. The log grows as it is read (reading it is
    recorded too), so a walk holds to the records up to the newest when it began (`until`, carried in the
    next link): each record comes once, and the total stays the same from page to page."""
    ctx.require_role("privacy_officer", doing="read the audit log")
    paging = paging or Paging(limit=AUDIT_LIMIT)
    database, who = ctx.auditor.database, {"person": person or None, "user": user or None}
    if until is None:
        newest = database.records(**who, limit=1, newest_first=True)
        until = newest[0]["id"] if newest else None
    rows = database.records(**who, limit=paging.limit, offset=paging.offset, newest_first=True, until=until)
    total = paging.offset + len(rows) if 0 < len(rows) < paging.limit else database.count(**who, until=until)
    ctx.record("audit", "audit_record" + (f" person={person}" if person else "") + (f" user={user}" if user else "")
               + (f" from {paging.offset}" if paging.offset else ""), None, person or None)
    return AuditPage(rows, total, paging, until)


def _newest(qs: QuerySet, k: int, *order: str) -> tuple[list[Any], int]:
    """The first `k` of one kind of event, newest first, and how many there are (counted only if there are
    `k` or more)."""
    rows = list(qs.order_by(*order)[:k])
    return rows, len(rows) if len(rows) < k else qs.count()


def timeline(ctx: Ctx, person_id: str, paging: Paging | None = None) -> Page[dict[str, Any]]:
    """A page of a person's journey on one line, newest first: referrals, tasks, alerts, notifications, plan
    versions, consent, MDT decisions. Each kind is read newest first and only as far as the page's end
    (offset + limit), so the page is exact and no read grows with the journey."""
    paging = paging or Paging()
    person = person_for(ctx, person_id)
    k = paging.offset + paging.limit
    events: list[dict[str, Any]] = []
    total = 0

    def add(qs: QuerySet, order: tuple[str, ...], event) -> None:
        nonlocal total
        rows, count = _newest(qs, k, *order)
        events.extend(event(r) for r in rows)
        total += count

    add(person.referrals.all(), ("-created_at", "-id"),
        lambda r: {"at": r.created_at, "kind": "referral", "id": r.id, "what": f"referral from {r.source}"})
    add(person.tasks.all(), ("-created_at", "-id"),
        lambda t: {"at": t.created_at, "kind": "task", "id": t.id, "what": f"{t.service}: {t.status}"})
    add(m.TaskAlert.objects.filter(task__person=person).select_related("task"), ("-raised_at", "-kind", "-task_id"),
        lambda a: {"at": a.raised_at, "kind": a.kind, "id": a.task_id, "what": f"{a.task.service} {a.kind}"})
    add(person.discharge_notifications.annotate(at=Coalesce("sent_at", "discharged_at")), ("-at", "-id"),
        lambda n: {"at": n.at, "kind": "discharge_notification", "id": n.id,
                   "what": f"notification to {n.practice_id}"})
    if care_refusal(ctx.actor, READ, ctx.facts(person), CARE_PLAN) is None:
        add(m.CarePlanVersion.objects.filter(plan__person=person).only("number", "saved_at"),  # not the content
            ("-saved_at", "-number"),
            lambda v: {"at": v.saved_at, "kind": "care_plan", "id": v.number, "what": f"care plan v{v.number}"})
    add(person.consents.all(), ("-recorded_at", "-id"),
        lambda c: {"at": c.recorded_at, "kind": "consent", "id": c.id, "what": f"consent {c.status}"})
    add(person.mdt_decisions.select_related("meeting"), ("-recorded_at", "-id"),
        lambda d: {"at": d.recorded_at, "kind": "mdt_decision", "id": d.id,
                   "what": f"MDT {d.meeting.title}: {d.decision}"})
    events.sort(key=lambda e: (e["at"], e["kind"], e["id"]), reverse=True)
    page = Page(events[paging.offset:k], total, paging)
    ctx.record(READ, f"care.timeline person={person.id} events={len(page)}", 1, person.id)
    return page


# --- MDT case management --------------------------------------------------------------------------------
def practices_under(codes: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """Each organisation's practices, from the system's hierarchy: a practice itself, a PCN's members, a
    locality's or an ICP's (every practice below it); none for an organisation outside the hierarchy."""
    from icsys.system import load_system

    hierarchy = load_system().hierarchy
    out: dict[str, list[str]] = {}
    for code in codes:
        if code not in hierarchy:
            out[code] = []
            continue
        kind = hierarchy.kinds_of(code)[0]  # a unitary authority's code names a district and a council
        below = [hierarchy.get(code, kind), *hierarchy.descendants(code, kind)]
        out[code] = sorted({o.code for o in below if o.kind == "practice"})
    return out


def mdt_case_list(ctx: Ctx, name: str, as_of: Any = None, paging: Paging | None = None) -> Page[dict[str, Any]]:
    """An MDT case list (icsys.care.population.CASE_LISTS) of the people of the actor's practices, from the
    analytical store; each row says whether the person is known to the care service and visible here."""
    from icsys.access.policy import AccessDenied as Denied
    from icsys.care import population
    from icsys.errors import InputError

    ctx.require(LIST)
    if name not in population.CASE_LISTS:
        raise Invalid(f"list: choose one of {', '.join(population.CASE_LISTS)}", field="list")
    try:
        rows = population.case_list(settings.ICSYS_STORE, ctx.actor, name, practices_under(ctx.actor.organisations),
                                    as_of)
    except Denied as exc:
        raise Forbidden(str(exc)) from exc
    except InputError as exc:
        raise Conflict(str(exc)) from exc
    paging = paging or Paging()
    page = Page(rows[paging.offset:paging.offset + paging.limit], len(rows), paging)
    known = {p.pk: f"{p.given_name} {p.family_name}" for p in
             m.Person.objects.visible_to(ctx.actor).filter(pk__in=[r["person_id"] for r in page])}
    for row in page:
        row["in_care_service"] = row["person_id"] in known
        row["name"] = known.get(row["person_id"])
    ctx.record(LIST, f"care.mdt_case_list {name}", len(page))
    return page


def create_meeting(ctx: Ctx, user: m.User, *, organisation: str, title: str, held_at: datetime,
                   case_list: str = "", attendees: list[dict[str, Any]] | None = None) -> m.MdtMeeting:
    """An MDT meeting of the lead's PCN or locality, with its attendees."""
    ctx.require(WRITE)
    ctx.require_role("mdt_lead", doing="hold an MDT meeting")
    org = _organisation(organisation, "organisation")
    ctx.member_of(org.code, "hold another organisation's MDT")
    if not title.strip():
        raise Invalid("title: give the meeting a title", field="title")
    with transaction.atomic():
        meeting = m.MdtMeeting.objects.create(organisation=org, title=title.strip(), held_at=held_at,
                                              case_list=case_list, created_by=user)
        for i, a in enumerate(attendees or []):
            where = f"attendees.{i}"
            if not (a.get("name") or "").strip():
                raise Invalid(f"{where}.name: give the attendee's name", field=f"{where}.name")
            m.MdtAttendee.objects.create(meeting=meeting, name=a["name"].strip(),
                                         organisation=_organisation(a["organisation"], f"{where}.organisation"),
                                         role_in_team=a.get("role_in_team", ""))
        ctx.record(WRITE, f"care.mdt_meeting {meeting.id}", 0)
    return meeting


def meetings_for(ctx: Ctx) -> list[m.MdtMeeting]:
    ctx.require(LIST)
    return list(m.MdtMeeting.objects.filter(organisation__in=ctx.actor.organisations).order_by("-held_at"))


def meeting_for(ctx: Ctx, meeting_id: int) -> m.MdtMeeting:
    """A meeting of one of the actor's organisations (else NotFound); its decisions' people are recorded."""
    ctx.require(READ)
    meeting = m.MdtMeeting.objects.filter(pk=meeting_id, organisation__in=ctx.actor.organisations).first()
    if meeting is None:
        raise NotFound(f"no MDT meeting {meeting_id} that you may see")
    people = set(_visible_decisions(ctx, meeting).values_list("person_id", flat=True))
    ctx.record(READ, f"care.mdt_meeting {meeting.id} " + " ".join(f"person={p}" for p in sorted(people)),
               len(people))
    return meeting


def _visible_decisions(ctx: Ctx, meeting: m.MdtMeeting) -> QuerySet[m.MdtDecision]:
    """A meeting's decisions about people the actor may still see (a relationship can end)."""
    return meeting.decisions.filter(person__in=m.Person.objects.visible_to(ctx.actor))


def record_decision(ctx: Ctx, user: m.User, meeting_id: int, person_id: str, decision: str,
                    actions: list[dict[str, Any]] | None = None) -> m.MdtDecision:
    """The MDT's decision about a person it may see; an action naming a service and organisation becomes
    a task offered to it, due by its standard, like the SPoA's."""
    meeting = meeting_for(ctx, meeting_id)
    ctx.require_role("mdt_lead", doing="record an MDT decision")
    person = person_for(ctx, person_id, action=WRITE)
    if not decision.strip():
        raise Invalid("decision: say what the MDT decided", field="decision")
    now = _now()
    with transaction.atomic():
        made = m.MdtDecision.objects.create(meeting=meeting, person=person, decision=decision.strip(),
                                            recorded_by=user, recorded_at=now)
        for i, a in enumerate(actions or []):
            where = f"actions.{i}"
            if not (a.get("description") or "").strip():
                raise Invalid(f"{where}.description: say what is to be done", field=f"{where}.description")
            task = None
            if a.get("service"):
                if a["service"] not in dict(m.SERVICES):
                    raise Invalid(f"{where}.service: unknown service {a['service']!r}", field=f"{where}.service")
                org = _organisation(a.get("organisation") or "", f"{where}.organisation")
                standard = standard_for(a["service"])
                task = m.Task.objects.create(person=person, service=a["service"], organisation=org,
                                             standard=standard.code, note=a["description"], created_by=user,
                                             created_at=now, due_at=standard.due(now))
            m.MdtAction.objects.create(decision=made, description=a["description"].strip(), task=task)
        ctx.record(WRITE, f"care.mdt_decision {made.id} person={person.id}", 1, person.id)
    return made


def meeting_record(ctx: Ctx, meeting: m.MdtMeeting) -> dict[str, Any]:
    """A meeting (released by meeting_for) as plain data, for the API and the page alike: only decisions
    about people the actor may see."""
    return {"id": meeting.id, "organisation": meeting.organisation_id, "title": meeting.title,
            "held_at": meeting.held_at, "case_list": meeting.case_list,
            "attendees": [{"name": a.name, "organisation": a.organisation_id, "role_in_team": a.role_in_team}
                          for a in meeting.attendees.order_by("id")],
            "decisions": [{"id": d.id, "person_id": d.person_id, "decision": d.decision,
                           "person_name": f"{d.person.given_name} {d.person.family_name}",
                           "recorded_by": d.recorded_by.username, "recorded_at": d.recorded_at,
                           "actions": [{"description": a.description, "task": a.task_id,
                                        "service": a.task.service if a.task else None,
                                        "organisation": a.task.organisation_id if a.task else None}
                                       for a in d.actions.select_related("task").order_by("id")]}
                          for d in _visible_decisions(ctx, meeting).select_related("recorded_by", "person")
                          .order_by("id")]}


# --- NHS Continuing Healthcare (seed 004) ----------------------------------------------------------------
CHC_SERVICE = "chc_assessment"
CHC_ROLES = ("clinician", "social_worker", "care_coordinator")  # who completes a checklist (the National Framework)


def record_chc_checklist(ctx: Ctx, user: m.User, person_id: str, data: dict[str, Any]) -> m.ChcCase:
    """A checklist completed for someone who may need NHS Continuing Healthcare. A negative one ends there;
    a positive one starts the 28 days to a decision (standard chc_decision_28d, from the checklist) and
    offers the assessment to the team as a task, the assessment at home or in a placement under Discharge
    to Assess: in hospital only by exception, with its reason."""
    person = person_for(ctx, person_id, action=WRITE)
    ctx.require_role(*CHC_ROLES, doing="complete an NHS Continuing Healthcare checklist")
    team = _organisation(data["organisation"], "organisation")
    at = data.get("checklist_at") or _now()
    if at > _now():
        raise Invalid("checklist_at: a checklist is recorded once done, not in the future", field="checklist_at")
    place, reason = data.get("assessment_place"), (data.get("hospital_reason") or "").strip()
    positive = data["outcome"] == "positive"
    if positive and not place:
        raise Invalid("assessment_place: say where the assessment will be (home or care_home under Discharge to "
                      "Assess)", field="assessment_place")
    if place == "hospital" and not reason:
        raise Invalid("hospital_reason: an assessment in hospital is the exception under Discharge to Assess; "
                      "say why it cannot be at home or in a placement", field="hospital_reason")
    with transaction.atomic():
        task = None
        if positive:
            standard = standard_for(CHC_SERVICE)
            task = m.Task.objects.create(person=person, service=CHC_SERVICE, organisation=team, standard=standard.code,
                                         note=f"NHS CHC assessment ({place})", created_by=user, created_at=at,
                                         due_at=standard.due(at))
        case = m.ChcCase.objects.create(
            person=person, checklist_at=at, checklist_outcome=data["outcome"], checklist_by=user, organisation=team,
            assessment_place=place or "", hospital_reason=reason if place == "hospital" else "", task=task,
            decision_due_by=task.due_at if task else None, note=data.get("note", ""))
        ctx.record(WRITE, f"care.chc_case {case.id} checklist {data['outcome']} person={person.id}", 1, person.id)
    return case


def chc_cases(ctx: Ctx, person_id: str, paging: Paging | None = None) -> Page[m.ChcCase]:
    """A page of a person's NHS Continuing Healthcare cases, oldest checklist first."""
    person = person_for(ctx, person_id)
    page = page_of(person.chc_cases.select_related("checklist_by").order_by("checklist_at", "id"), paging)
    ctx.record(READ, f"care.chc_case x{len(page)} person={person.id}", 1, person.id)
    return page


def decide_chc(ctx: Ctx, user: m.User, case_id: int, decision: str, phb: dict[str, Any] | None,
               note: str = "") -> m.ChcCase:
    """The team's decision on a positive checklist: late if after the 28 days; the assessment task completed.
    Someone eligible has the right to a personal health budget: the decision says whether it was offered."""
    case = m.ChcCase.objects.filter(pk=case_id).select_related("person", "task", "checklist_by").first()
    if case is None:
        raise NotFound(f"no NHS Continuing Healthcare case {case_id} that you may see")
    try:
        person_for(ctx, case.person_id, action=WRITE)
    except Forbidden as exc:
        raise NotFound(f"no NHS Continuing Healthcare case {case_id} that you may see") from exc
    ctx.member_of(case.organisation_id, "decide another team's NHS Continuing Healthcare case")
    if case.checklist_outcome != "positive":
        raise Conflict(f"case {case.id}: the checklist was negative; there is no decision to make")
    if case.decision:
        raise Conflict(f"case {case.id} was decided already ({case.decision})")
    if decision == "eligible" and phb is None:
        raise Invalid("personal_health_budget: someone eligible has the right to a personal health budget; say "
                      "whether it was offered, accepted or declined", field="personal_health_budget")
    now = _now()
    with transaction.atomic():
        case.decision, case.decided_at, case.decided_by = decision, now, user
        case.decision_late = case.decision_due_by is not None and now > case.decision_due_by
        case.phb_status = (phb or {}).get("status", "")
        case.phb_weekly_amount = (phb or {}).get("weekly_amount")
        case.note = "\n".join(x for x in (case.note, note) if x)
        case.save()
        if case.task is not None and case.task.status in ("offered", "accepted"):
            case.task.status, case.task.completed_at, case.task.outcome = "completed", now, f"CHC {decision}"
            case.task.responded_at = case.task.responded_at or now
            case.task.version += 1
            case.task.save()
            case.task.episodes.filter(ended_at__isnull=True).update(ended_at=now)
        ctx.record(WRITE, f"care.chc_case {case.id} decided {decision} person={case.person_id}", 1, case.person_id)
    return case


def chc_summary(ctx: Ctx, now: datetime | None = None) -> dict[str, Any]:
    """The NHS Continuing Healthcare work of the actor's teams (the cases they assess and decide), as counts for
    a service lead, no person-level rows: checklists and their outcomes, where assessments are held (Discharge
    to Assess), decisions within the 28 days of the standard and late, those waiting (within the standard or
    overdue), outcomes, and personal health budgets of those found eligible. Counted in one SQL query, however
    many cases the teams hold."""
    from django.db.models import Count, Q

    ctx.require(LIST)
    now = now or _now()
    positive = Q(checklist_outcome="positive")
    decided, waiting = positive & ~Q(decision=""), positive & Q(decision="")
    eligible = decided & Q(decision="eligible")
    counted = {"checklists": Q(), "positive": positive, "decided": decided, "within": decided & Q(decision_late=False),
               "waiting": waiting, "overdue": waiting & Q(decision_due_by__lte=now), "eligible": eligible,
               **{f"place_{k}": positive & Q(assessment_place=k) for k, _ in m.CHC_PLACES},
               **{f"phb_{k}": eligible & Q(phb_status=k) for k, _ in m.PHB_STATUSES}}
    n = m.ChcCase.objects.filter(organisation__in=ctx.actor.organisations).aggregate(
        people=Count("person_id", distinct=True), **{k: Count("id", filter=q) for k, q in counted.items()})
    out = {"organisations": sorted(ctx.actor.organisations), "checklists": n["checklists"],
           "positive": n["positive"], "negative": n["checklists"] - n["positive"],
           "assessment_place": {k: n[f"place_{k}"] for k, _ in m.CHC_PLACES},
           "decided": n["decided"], "decided_within_standard": n["within"], "decided_late": n["decided"] - n["within"],
           "within_standard_percent": round(100 * n["within"] / n["decided"], 1) if n["decided"] else None,
           "waiting": n["waiting"], "waiting_overdue": n["overdue"],
           "eligible": n["eligible"], "not_eligible": n["decided"] - n["eligible"],
           "personal_health_budget": {k: n[f"phb_{k}"] for k, _ in m.PHB_STATUSES}}
    ctx.record(LIST, "care.chc_summary " + ",".join(out["organisations"]), n["people"])
    return out
