"""The care service's pages for each role's work: server-rendered, calling icsys.care.services as the API
does, so access and audit are decided in one place. Every view is wrapped by `page`: signed in, a `Ctx`,
and a service's refusal becomes the same 403/404 page with only its message (no view checks access itself).

Form input is validated by the API's own schemas (icsys.care.schemas): an error names the field, in a
summary at the top and beside the field, and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from pydantic import BaseModel, ValidationError

from icsys.access.policy import AccessDenied
from icsys.access.reidentify import NhsNumberError, check_nhs_number
from icsys.care import models as m
from icsys.care import population
from icsys.care import services as s
from icsys.care.organisations import spoa_for
from icsys.care.schemas import CarePlanContent, CompleteIn, DeclineIn, ReferralIn

SERVICE_NAMES = dict(m.SERVICES)
RESUSCITATION = [("not_yet_discussed", "Not yet discussed"), ("for_resuscitation", "For resuscitation"),
                 ("not_for_resuscitation", "Not for resuscitation (DNACPR)")]
# Which organisation kinds give each service: the triage form offers only those.
SERVICE_PROVIDERS = {"domiciliary_care": ("home_care",), "reablement": ("social_care", "community"),
                     "district_nursing": ("community",), "urgent_community_response": ("community",),
                     "community_bed": ("community",), "carer_support": ("social_care",),
                     "social_work_assessment": ("social_care",), "chc_assessment": ("community", "ics")}


class Errors(dict):
    """Field -> message; a field without an error reads as "" (templates ask for each field's)."""

    def __missing__(self, key: str) -> str:
        if key in ("items", "keys", "values"):  # the template's dict methods, not fields
            raise KeyError(key)
        return ""


class Values(Errors):
    """What was typed, by field; "" for a field not typed."""


EVENT_LABELS = {"referral": "Referral", "task": "Task", "warning": "Warning", "breach": "Breach",
                "discharge_notification": "Discharge notification", "care_plan": "Care plan", "consent": "Consent",
                "mdt_decision": "MDT decision"}
READABLE = {**SERVICE_NAMES, **dict(m.REFERRAL_SOURCES)}


def readable(text: str) -> str:
    """The timeline's words for people: service and source codes by their names."""
    for code in sorted(READABLE, key=len, reverse=True):
        text = text.replace(code, READABLE[code])
    return text


def paging(request: HttpRequest, prefix: str = "") -> s.Paging:
    """The page asked for in the address (?limit=&offset=, each after `prefix` where a page has two lists);
    a bad one is refused (422) naming it."""
    return s.Paging.parse(request.GET.get(f"{prefix}limit"), request.GET.get(f"{prefix}offset"))


def pager(request: HttpRequest, page: s.Page, prefix: str = "", **keep: Any) -> dict[str, Any]:
    """What the pager shows: the rows' place in the whole and links to the previous and next pages (carrying
    `keep`, what holds a walk to the list as it began)."""
    def link(offset: int) -> str:
        query = request.GET.copy()
        query[f"{prefix}offset"] = str(offset)
        for k, v in keep.items():  # set, not QueryDict.update, which would add a value each page
            if v is not None:
                query[f"{prefix}{k}"] = str(v)
        return f"?{query.urlencode()}"

    first = page.paging.offset
    return {"total": page.total, "first": first + 1 if page.rows else 0, "last": first + len(page.rows),
            "next": link(page.next_offset) if page.next_offset is not None else None,
            "previous": link(max(0, first - page.paging.limit)) if first else None}


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, with a Ctx; a service's NotFound/Forbidden/Conflict becomes its status page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ctx = s.Ctx(request.actor, via=f"page {request.method} {request.path}", auditor=request.auditor)
        try:
            return view(request, ctx, *args, **kwargs)
        except s.CareError as exc:
            return refused(request, exc.status, exc.message)
        except AccessDenied as exc:
            return refused(request, 403, str(exc))

    return wrapper


def refused(request: HttpRequest, status: int, message: str) -> HttpResponse:
    title = {403: "You cannot see this", 404: "Not found", 409: "This has changed"}.get(status, "Not done")
    return render(request, "care/refused.html", {"title": title, "message": message, "status": status},
                  status=status)


def validated(schema: type[BaseModel], data: dict[str, Any]) -> tuple[BaseModel | None, dict[str, str]]:
    """The data as `schema`, or the errors by field (the first part of pydantic's location)."""
    try:
        return schema.model_validate(data), Errors()
    except ValidationError as exc:
        errors = Errors()
        for e in exc.errors():
            where = str(e["loc"][0]) if e["loc"] else "form"
            label = FIELD_LABELS.get(where, where.replace("_", " "))
            errors.setdefault(where, f"{label}: {plain(e)}")
        return None, errors


FIELD_LABELS = {"nhs_number": "NHS number", "given_name": "Given name", "family_name": "Family name",
                "birth_date": "Date of birth", "registered_practice": "Registered practice", "needs": "Needs",
                "expected_discharge_date": "Expected discharge date", "recommended_services": "Recommended services",
                "outcome": "Outcome", "weeks": "Weeks", "reason": "Reason", "goals": "Goals", "actions": "Actions",
                "named_contacts": "Named contacts", "end_of_life": "End of life preferences", "title": "Title",
                "decision": "Decision", "person_id": "Person", "carers": "Carer", "held_at": "Date and time"}


def plain(error: dict[str, Any]) -> str:
    """Pydantic's message in plain words for the commonest cases."""
    if error["type"] == "missing" or (error["type"] == "string_too_short" and error["ctx"]["min_length"] == 1):
        return "enter it"
    if error["type"] in ("date_from_datetime_parsing", "date_parsing", "date_from_datetime_inexact"):
        return "enter a real date, for example 14/05/1946"
    if error["type"].startswith("int_"):
        return "enter a whole number"
    return error["msg"].removeprefix("Value error, ")


def invalid(exc: s.Invalid) -> Errors:
    where = (exc.field or "form").split(".")[0]
    return Errors({where: exc.message})


# --- home and people -----------------------------------------------------------------------------------
@page
def home(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    practice = m.Organisation.objects.filter(code__in=ctx.actor.organisations, kind="practice").exists()
    notices = s.notifications_for(ctx, paging(request)) if practice else None
    chc_team = m.ChcCase.objects.filter(organisation__in=ctx.actor.organisations).exists()  # a team that decides
    return render(request, "care/home.html", {"role": ctx.actor.roles[0], "notices": notices, "practice": practice,
                                              "chc_team": chc_team,
                                              "pager": pager(request, notices) if notices else None})


@page
def people(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    people = s.list_people(ctx, paging(request))
    return render(request, "care/people.html", {"people": people, "pager": pager(request, people)})


@page
@require_http_methods(["GET", "POST"])
def person(request: HttpRequest, ctx: s.Ctx, person_id: str) -> HttpResponse:
    errors = Errors()
    if request.method == "POST":
        try:
            if request.POST.get("form") == "consent":
                status = request.POST.get("status", "")
                if status not in ("given", "withdrawn"):
                    raise s.Invalid("Consent: choose given or withdrawn", field="status")
                s.record_consent(ctx, request.care_user, person_id, status, request.POST.get("note", ""))
            elif request.POST.get("form") == "care_team":
                role = request.POST.get("role_in_team", "").strip()
                if not role:
                    raise s.Invalid("Role in the care team: say what the organisation does", field="role_in_team")
                s.add_to_care_team(ctx, person_id, request.POST.get("organisation", ""), role)
            return redirect(request.path)
        except s.Invalid as exc:
            errors = invalid(exc)
    detail = s.read_person(ctx, person_id)
    number = detail["nhs_number"] or ""
    detail["nhs_number"] = f"{number[:3]} {number[3:6]} {number[6:]}" if len(number) == 10 else number
    journey = s.timeline(ctx, person_id, paging(request))
    events = [{**e, "label": EVENT_LABELS.get(e["kind"], e["kind"]), "what": readable(e["what"])} for e in journey]
    teams = m.Organisation.objects.filter(kind__in=["pcn", "community", "social_care", "home_care", "practice"])
    return render(request, "care/person.html", {**detail, "events": events, "errors": errors,
                                                "pager": pager(request, journey),
                                                "organisations": teams.order_by("kind", "name")},
                  status=422 if errors else 200)


# --- referrals: the SPoA's queue, the discharge support form ---------------------------------------------
@page
def referrals(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    unmatched = request.path.rstrip("/").endswith("unmatched")
    rows = s.referrals_for(ctx, unmatched=unmatched, paging=paging(request))
    return render(request, "care/referrals.html", {"referrals": rows, "unmatched": unmatched,
                                                   "pager": pager(request, rows)})


def _referral_data(post: Any, actor_orgs: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {k: post.get(k, "").strip() for k in (
        "nhs_number", "given_name", "family_name", "birth_date", "registered_practice", "needs", "mobility",
        "carer_situation", "expected_discharge_date")}
    data["nhs_number"] = data["nhs_number"].replace(" ", "")
    data["expected_discharge_date"] = data["expected_discharge_date"] or None
    data.update(source="acute_discharger", to_organisation=spoa_for(data["registered_practice"]),
                from_organisation=actor_orgs[0],
                recommended_services=post.getlist("recommended_services"))
    if post.get("carer_name", "").strip():
        data["carers"] = [{"name": post["carer_name"].strip(), "relationship": post.get("carer_relationship", "")
                           .strip() or "carer", "able_to_care": post.get("carer_able") == "yes",
                           "needs_support": post.get("carer_needs_support") == "yes"}]
    return data


@page
@require_http_methods(["GET", "POST"])
def new_referral(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    """The discharge support form (seed 003): the acute discharger's referral into the SPoA."""
    errors = Errors()
    values = Values()
    if request.method == "POST":
        values = Values(_referral_data(request.POST, ctx.actor.organisations))
        body, errors = validated(ReferralIn, values)
        try:  # the NHS number's check digit and range, with the rest (the service checks it again)
            check_nhs_number(values["nhs_number"], allow_synthetic=settings.ICSYS_ALLOW_TEST_NHS_NUMBERS)
        except NhsNumberError as exc:
            errors["nhs_number"], body = str(exc), None
        if body is not None:
            try:
                referral = s.create_referral(ctx, request.care_user, body.model_dump())
                return redirect(f"/referrals/{referral.id}/")
            except s.Invalid as exc:
                errors = invalid(exc)
    practices = m.Organisation.objects.filter(kind="practice").order_by("name")
    return render(request, "care/referral_form.html", {
        "errors": errors, "v": values, "practices": practices, "services": m.SERVICES,
        "chosen": set(values.get("recommended_services") or [])}, status=422 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def referral(request: HttpRequest, ctx: s.Ctx, referral_id: int) -> HttpResponse:
    errors = Errors()
    if request.method == "POST":
        try:
            action = request.POST.get("form")
            if action == "triage":
                tasks = [{"service": svc, "organisation": request.POST.get(f"org_{svc}", "")}
                         for svc in request.POST.getlist("service")]
                if not tasks:
                    raise s.Invalid("Services: choose at least one service", field="service")
                for t in tasks:
                    if not t["organisation"]:
                        raise s.Invalid(f"Organisation for {SERVICE_NAMES.get(t['service'], t['service'])}: "
                                        "choose who provides it", field="service")
                    if t["service"] not in SERVICE_NAMES:
                        raise s.Invalid(f"Services: unknown service {t['service']!r}", field="service")
                s.triage(ctx, request.care_user, referral_id, tasks)
            elif action == "resolve":
                number = request.POST.get("nhs_number", "").replace(" ", "") or None
                s.resolve_referral(ctx, referral_id, nhs_number=number,
                                   register_new=request.POST.get("register_new") == "yes")
            elif action == "discharge":
                s.record_discharge(ctx, referral_id, timezone.now())
            return redirect(request.path)
        except s.Invalid as exc:
            errors = invalid(exc)
    item = s.read_referral(ctx, referral_id)
    providers = {svc: m.Organisation.objects.filter(kind__in=kinds).order_by("name")
                 for svc, kinds in SERVICE_PROVIDERS.items()}
    rows = [{"code": code, "name": name, "recommended": code in item.recommended_services,
             "providers": providers[code]} for code, name in m.SERVICES]
    can_triage = ctx.actor.has_role("care_coordinator") and item.to_organisation_id in ctx.actor.organisations
    return render(request, "care/referral.html", {
        "r": item, "errors": errors, "services": rows, "can_triage": can_triage and item.status == "received",
        "can_resolve": can_triage and item.status == "unmatched",
        "can_discharge": item.from_organisation_id in ctx.actor.organisations and item.person_id
        and item.discharged_at is None, "tasks": list(item.tasks.select_related("organisation"))
        if item.person_id else []}, status=422 if errors else 200)


# --- a service's tasks -----------------------------------------------------------------------------------
@page
@require_http_methods(["GET", "POST"])
def tasks(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    errors = Errors()
    failed: int | None = None
    if request.method == "POST":
        try:
            task_id = int(request.POST.get("task", "0") or 0)
        except ValueError:
            task_id = 0
        failed = task_id
        try:
            _task_action(ctx, request, task_id)
            return redirect(request.path)
        except s.Invalid as exc:
            errors = invalid(exc)
    now = timezone.now()
    tasks = s.tasks_for(ctx, paging=paging(request))
    rows = [{"t": t, "alerts": {a.kind for a in t.alerts.all()}, "overdue": t.due_at <= now and
             t.status in ("offered", "accepted"), "service": SERVICE_NAMES.get(t.service, t.service)}
            for t in tasks]
    return render(request, "care/tasks.html", {"rows": rows, "errors": errors, "failed": failed, "now": now,
                                               "pager": pager(request, tasks)},
                  status=422 if errors else 200)


def _task_action(ctx: s.Ctx, request: HttpRequest, task_id: int) -> None:
    action = request.POST.get("form")
    if action == "accept":
        s.respond_to_task(ctx, request.care_user, task_id, accept=True)
    elif action == "decline":
        body, errors = validated(DeclineIn, {"reason": request.POST.get("reason", "").strip()})
        if body is None:
            raise s.Invalid("Reason: say why the task is declined", field="reason")
        s.respond_to_task(ctx, request.care_user, task_id, accept=False, reason=body.reason)
    elif action == "complete":
        weeks = request.POST.get("weeks", "").strip() or None
        body, errors = validated(CompleteIn, {"outcome": request.POST.get("outcome", "").strip(), "weeks": weeks,
                                              "end_episode": request.POST.get("end_episode") == "yes"})
        if body is None:
            field = next(iter(errors))
            raise s.Invalid(errors[field], field=field)
        s.complete_task(ctx, task_id, outcome=body.outcome, weeks=body.weeks, end_episode=body.end_episode)
    else:
        raise s.Invalid("Action: accept, decline or complete", field="form")


# --- the care plan editor --------------------------------------------------------------------------------
def _lines(text: str, *names: str) -> list[dict[str, str]]:
    """'a | b | c' lines as dicts of `names` (blank lines skipped)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            parts = [p.strip() for p in line.split("|")]
            out.append({n: (parts[i] if i < len(parts) else "") for i, n in enumerate(names)})
    return out


def plan_from_form(post: Any) -> dict[str, Any]:
    return {"summary": post.get("summary", "").strip(),
            "goals": _lines(post.get("goals", ""), "goal"),
            "actions": _lines(post.get("actions", ""), "action", "who"),
            "named_contacts": _lines(post.get("named_contacts", ""), "name", "role", "telephone"),
            "anticipatory_care": post.get("anticipatory_care", "").strip(),
            "end_of_life": {"preferred_place_of_care": post.get("preferred_place_of_care", "").strip(),
                            "preferred_place_of_death": post.get("preferred_place_of_death", "").strip(),
                            "resuscitation_decision": post.get("resuscitation_decision", "not_yet_discussed"),
                            "contact": post.get("contact", "").strip()}}


def plan_to_form(content: dict[str, Any]) -> dict[str, str]:
    eol = content.get("end_of_life") or {}
    return {"summary": content.get("summary", ""),
            "goals": "\n".join(g.get("goal", "") for g in content.get("goals", [])),
            "actions": "\n".join(" | ".join(filter(None, [a.get("action", ""), a.get("who", "")]))
                                 for a in content.get("actions", [])),
            "named_contacts": "\n".join(" | ".join(filter(None, [c.get("name", ""), c.get("role", ""),
                                                                 c.get("telephone", "")]))
                                        for c in content.get("named_contacts", [])),
            "anticipatory_care": content.get("anticipatory_care", ""),
            "preferred_place_of_care": eol.get("preferred_place_of_care", ""),
            "preferred_place_of_death": eol.get("preferred_place_of_death", ""),
            "resuscitation_decision": eol.get("resuscitation_decision", "not_yet_discussed"),
            "resuscitation_words": dict(RESUSCITATION).get(eol.get("resuscitation_decision", "not_yet_discussed"), ""),
            "contact": eol.get("contact", "")}


@page
@require_http_methods(["GET", "POST"])
def care_plan(request: HttpRequest, ctx: s.Ctx, person_id: str) -> HttpResponse:
    """View and edit the plan. A stale edit (someone saved since you opened it) is refused with the current
    version beside your own text, kept in the form: nothing is lost, nothing is overwritten."""
    person = s.person_for(ctx, person_id, record="care_plan")
    errors = Errors()
    current = None
    status = 200
    try:
        _, current = s.care_plan(ctx, person_id)
    except s.NotFound:
        current = None
    values = plan_to_form(current.content) if current else plan_to_form({})
    expected = current.number if current else None
    if request.method == "POST":
        raw = request.POST.get("version", "").strip()
        expected = int(raw) if raw.isdigit() else None
        values = {**values, **{k: request.POST.get(k, "") for k in values if k != "resuscitation_words"}}
        body, errors = validated(CarePlanContent, plan_from_form(request.POST))
        if body is not None:
            try:
                s.save_care_plan(ctx, request.care_user, person_id, body.model_dump(mode="json"), expected)
                return redirect(f"{request.path}?saved=1")
            except (s.PreconditionFailed, s.Conflict) as exc:
                errors, status = {"version": exc.message}, 409
                current = exc.current
                expected = current.number if current else expected
        else:
            status = 422
    return render(request, "care/care_plan.html", {
        "person": person, "current": current, "v": values, "errors": errors, "expected": expected,
        "stale": status == 409, "resuscitation": RESUSCITATION, "saved": request.GET.get("saved") == "1",
        "current_form": plan_to_form(current.content) if current else None}, status=status)


# --- the MDT ---------------------------------------------------------------------------------------------
@page
@require_http_methods(["GET", "POST"])
def mdt(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    errors = Errors()
    if request.method == "POST":
        try:
            held = request.POST.get("held_at", "").strip()
            try:
                held_at = timezone.make_aware(datetime.fromisoformat(held)) if held else None
            except ValueError:
                held_at = None
            if held_at is None:
                raise s.Invalid("Date and time: give the meeting's date and time, e.g. 2026-12-01T14:00",
                                field="held_at")
            attendees = [{**a, "organisation": a["organisation"] or ctx.actor.organisations[0]}
                         for a in _lines(request.POST.get("attendees", ""), "name", "organisation", "role_in_team")]
            meeting = s.create_meeting(ctx, request.care_user, organisation=ctx.actor.organisations[0],
                                       title=request.POST.get("title", ""), held_at=held_at,
                                       case_list=request.POST.get("case_list", ""), attendees=attendees)
            return redirect(f"/mdt/meetings/{meeting.id}/")
        except s.Invalid as exc:
            errors = invalid(exc)
    name = request.GET.get("list", "frail")
    rows, problem, shown = [], None, None
    try:
        rows = s.mdt_case_list(ctx, name, paging=paging(request))
        shown = pager(request, rows)
    except s.Conflict as exc:
        problem = exc.message
    return render(request, "care/mdt.html", {
        "lists": population.CASE_LISTS.values(), "chosen": population.CASE_LISTS.get(name), "rows": rows,
        "problem": problem, "pager": shown, "meetings": s.meetings_for(ctx), "errors": errors,
        "default_time": (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00"),
        "can_hold": ctx.actor.has_role("mdt_lead")}, status=422 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def meeting(request: HttpRequest, ctx: s.Ctx, meeting_id: int) -> HttpResponse:
    errors = Errors()
    values = {k: request.POST.get(k, "") for k in ("person_id", "decision", "action", "service", "organisation")}
    if request.method == "POST":
        actions = []
        if values["action"].strip():
            actions.append({"description": values["action"], "service": values["service"] or None,
                            "organisation": values["organisation"] or None})
        try:
            s.record_decision(ctx, request.care_user, meeting_id, values["person_id"].strip(), values["decision"],
                              actions)
            return redirect(request.path)
        except s.Invalid as exc:
            errors = invalid(exc)
    record = s.meeting_record(ctx, s.meeting_for(ctx, meeting_id))
    for decision in record["decisions"]:
        for action in decision["actions"]:
            action["service_name"] = SERVICE_NAMES.get(action["service"] or "", "")
    providers = m.Organisation.objects.filter(kind__in=["community", "social_care", "home_care"]).order_by("name")
    return render(request, "care/meeting.html", {
        "m": record, "errors": errors, "v": values, "services": m.SERVICES, "providers": providers,
        "people": s.list_people(ctx, s.Paging(limit=s.MAX_LIMIT))}, status=422 if errors else 200)


# --- the privacy officer ---------------------------------------------------------------------------------
@page
@require_http_methods(["GET", "POST"])
def audit(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    errors = Errors()
    if request.method == "POST":
        try:
            note = request.POST.get("note", "").strip()
            if not note:
                raise s.Invalid("Review note: say what you found", field="note")
            s.review_break_glass(ctx, request.care_user, int(request.POST.get("grant", "0") or 0), note)
            return redirect(request.path)
        except (s.Invalid, ValueError) as exc:
            errors = invalid(exc) if isinstance(exc, s.Invalid) else Errors({"grant": "Break-glass: unknown"})
    user, who = request.GET.get("user", "").strip(), request.GET.get("person", "").strip()
    records = s.audit_log(ctx, user=user or None, person=who or None, paging=paging(request, "records_"),
                          until=_record_id(request.GET.get("records_until")))
    grants = s.break_glass_for_review(ctx, paging(request))
    return render(request, "care/audit.html", {"records": records, "grants": grants, "user": user, "who": who,
                                               "errors": errors, "pager": pager(request, grants),
                                               "records_pager": pager(request, records, "records_",
                                                                      until=records.until)},
                  status=422 if errors else 200)


def _record_id(text: str | None) -> int | None:
    """The newest audit record a walk of the log holds to (?records_until=), refused (422) if not one."""
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 2**62:
        raise s.Invalid(f"records_until: an audit record's number, not {text!r}", field="records_until")
    return int(text)


@page
def chc(request: HttpRequest, ctx: s.Ctx, person_id: str) -> HttpResponse:
    """A person's NHS Continuing Healthcare checklists and decisions (read here; recorded through the API)."""
    from icsys.care.standards import standard_for

    cases = s.chc_cases(ctx, person_id, paging(request))
    standard = standard_for(s.CHC_SERVICE)
    return render(request, "care/chc.html", {"person": m.Person.objects.get(pk=person_id), "cases": cases,
                                             "pager": pager(request, cases), "standard": standard,
                                             "days": round(standard.hours / 24)})


@page
def chc_summary(request: HttpRequest, ctx: s.Ctx) -> HttpResponse:
    """The service lead's view of the team's NHS Continuing Healthcare work: counts, no person-level rows."""
    from icsys.care.standards import standard_for

    summary = s.chc_summary(ctx)
    standard = standard_for(s.CHC_SERVICE)
    places = [(label, summary["assessment_place"][code]) for code, label in m.CHC_PLACES]
    budgets = [(label, summary["personal_health_budget"][code]) for code, label in m.PHB_STATUSES]
    return render(request, "care/chc_summary.html", {"s": summary, "days": round(standard.hours / 24),
                                                     "places": places, "budgets": budgets})
