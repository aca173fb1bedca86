"""The one place that decides what an actor may do to personal data, and what it may list.

`may(actor, action, ...)` answers yes or no; `require(...)` raises `AccessDenied` with the reason;
`scope(actor, action)` is what the actor may see when it lists: which organisations' people, and whether
identifiable or pseudonymised. A `Scope` applies itself to an Ibis table (`ibis_filter`, `pseudonymise`,
`ibis_view`) and, without importing Django, gives the keyword arguments of a Django queryset
`.filter(**scope.django_filter())` and the fields a pseudonymised view may show (`visible_columns`).

Local roles (the command line's; the care service adds its own here, in the same table):

| role            | may                                  | sees                                         |
| --------------- | ------------------------------------ | -------------------------------------------- |
| analyst         | read, list, export, derive           | every organisation, pseudonymised            |
| data_manager    | read, list, export, derive, load, audit | every organisation, identifiable          |
| clinician       | read, list, export (direct care)     | only its organisations' people, identifiable |
| privacy_officer | audit                                | the audit log, no person-level rows          |
| care_coordinator | read, list, write, reidentify         | people its organisations have a relationship with |
| social_worker, mdt_lead | as care_coordinator           | as care_coordinator                          |
| administrator   | administer                           | users and organisations, no personal data    |

The clinician also writes and re-identifies in the care service. There, the care rules (`care_refusal`,
`care_scope`) add to the role: a legitimate relationship with the person, consent for a shared care plan,
urgent care's summary regardless, break-glass.

Pseudonymised means: `person_id` (the store's pseudonym) stays; the NHS number, postcode, names, address
and contact details are withheld; dates of birth and death are given as year and month (`birth_month`,
`death_month`, "YYYY-MM"); LSOA and event dates stay, as in the Kent Integrated Dataset and HES extracts.
An actor with several roles acts in the first of them that allows the action (one role at a time, as a
smartcard session selects one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from icsys.access.actor import Actor, ActorError
from icsys.errors import InputError

READ, LIST, EXPORT, LOAD, DERIVE, AUDIT = "read", "list", "export", "load", "derive", "audit"
WRITE, REIDENTIFY, ADMINISTER = "write", "reidentify", "administer"  # the care service's
ACTIONS = (READ, LIST, EXPORT, LOAD, DERIVE, AUDIT, WRITE, REIDENTIFY, ADMINISTER)
PRACTICE = "practice_code"  # the organisation a person's row belongs to: their registered practice
WITHHELD = frozenset({"nhs_number", "postcode", "name", "given_name", "family_name", "address", "telephone",
                      "email"})
COARSENED = {"birth_date": "birth_month", "death_date": "death_month"}  # to "YYYY-MM"


class AccessDenied(InputError):
    """An actor asked for something its roles do not allow, with the reason."""


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    actions: frozenset[str]
    identifiable: bool  # sees NHS number, full dates, postcode
    organisation_scoped: bool  # sees only the people of its own organisations


ROLES: dict[str, Role] = {r.name: r for r in (
    Role("analyst", "population health and performance analysis", frozenset({READ, LIST, EXPORT, DERIVE}),
         identifiable=False, organisation_scoped=False),
    Role("data_manager", "loads, links and releases the dataset", frozenset({READ, LIST, EXPORT, DERIVE, LOAD,
                                                                            AUDIT}),
         identifiable=True, organisation_scoped=False),
    Role("clinician", "direct care of the people of its organisations",
         frozenset({READ, LIST, EXPORT, WRITE, REIDENTIFY}), identifiable=True, organisation_scoped=True),
    Role("privacy_officer", "oversight of the audit log", frozenset({AUDIT}),
         identifiable=False, organisation_scoped=False),
    # The care service's roles: direct care, always through a legitimate relationship (see care_refusal).
    Role("care_coordinator", "coordinates referrals and tasks (the SPoA's call handlers)",
         frozenset({READ, LIST, WRITE, REIDENTIFY}), identifiable=True, organisation_scoped=True),
    Role("social_worker", "assessments and care packages of adult social care",
         frozenset({READ, LIST, WRITE, REIDENTIFY}), identifiable=True, organisation_scoped=True),
    Role("mdt_lead", "leads a multidisciplinary team's case list and reviews",
         frozenset({READ, LIST, WRITE, REIDENTIFY}), identifiable=True, organisation_scoped=True),
    Role("administrator", "manages users and organisations; sees no personal data", frozenset({ADMINISTER}),
         identifiable=False, organisation_scoped=False),
)}
CARE_ROLES = ("clinician", "care_coordinator", "social_worker", "mdt_lead", "administrator", "privacy_officer")


@dataclass(frozen=True)
class Scope:
    """What an actor may see when it lists: `organisations` None means every organisation."""

    role: str
    identifiable: bool
    organisations: frozenset[str] | None

    def covers(self, organisation: str | None) -> bool:
        return self.organisations is None or (organisation is not None and organisation in self.organisations)

    def visible_columns(self, columns: Iterable[str]) -> list[str]:
        """The columns (or Django fields) this scope may show, before coarsening."""
        return [c for c in columns if self.identifiable or c not in WITHHELD]

    def withheld(self, columns: Iterable[str]) -> list[str]:
        return [] if self.identifiable else [c for c in columns if c in WITHHELD or c in COARSENED]

    # --- Ibis ---------------------------------------------------------------------------------------
    def ibis_filter(self, table: Any, column: str = PRACTICE, people: Any = None) -> Any:
        """Rows of `table` this scope covers. A table without `column` is filtered through `people`
        (a table with person_id and `column`, e.g. the person table)."""
        import ibis

        if self.organisations is None:
            return table
        codes = sorted(self.organisations)
        if column in table.columns:
            return table.filter(table[column].isin(codes) if codes else ibis.literal(False))
        if people is None or "person_id" not in table.columns:
            raise AccessDenied(f"cannot scope rows without {column} or person_id to organisations "
                               f"{', '.join(codes) or '(none)'}")
        mine = people.filter(people[column].isin(codes) if codes else ibis.literal(False)).select("person_id")
        return table.semi_join(mine, "person_id")

    def pseudonymise(self, table: Any) -> Any:
        """`table` as this scope may see it: identifiers withheld, dates of birth and death as YYYY-MM."""
        if self.identifiable:
            return table
        drop = [c for c in table.columns if c in WITHHELD]
        coarse = {COARSENED[c]: table[c].strftime("%Y-%m") for c in table.columns if c in COARSENED}
        out = table.mutate(**coarse) if coarse else table
        out = out.drop(*drop, *[c for c in table.columns if c in COARSENED]) if drop or coarse else out
        order = [COARSENED.get(c, c) for c in table.columns if c not in WITHHELD]
        return out.select(*order)

    def ibis_view(self, table: Any, column: str = PRACTICE, people: Any = None) -> Any:
        return self.pseudonymise(self.ibis_filter(table, column, people))

    # --- Django (no import of Django: the keyword arguments a queryset's .filter() takes) ----------
    def django_filter(self, field: str = PRACTICE) -> dict[str, Any]:
        """`Model.objects.filter(**scope.django_filter("person__practice_code"))`; {} is every row."""
        if self.organisations is None:
            return {}
        return {f"{field}__in": sorted(self.organisations)}


def _organisations(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def _check(actor: Any) -> Actor:
    if not isinstance(actor, Actor):
        raise ActorError("no actor: every access to personal data is by a named user in a role")
    return actor


def _role_for(actor: Actor, action: str) -> Role | None:
    return next((ROLES[r] for r in actor.roles if r in ROLES and action in ROLES[r].actions), None)


def refusal(actor: Actor, action: str, *, organisation: str | Iterable[str] | None = None,
            identifiable: bool = False, all_organisations: bool = False) -> str | None:
    """Why `actor` may not do `action` (None if it may). `organisation`: the organisation(s) whose data
    it is (a person's registered practice); `identifiable`: the rows carry identifiers; `all_organisations`:
    the data cannot be cut by organisation (e.g. the quarantine of a load)."""
    actor = _check(actor)
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    role = _role_for(actor, action)
    who = f"{actor.user} ({', '.join(actor.roles)})"
    if role is None:
        allowed = [r.name for r in ROLES.values() if action in r.actions]
        return f"{who} may not {action}: that needs the role {' or '.join(allowed)}"
    if identifiable and not role.identifiable:
        return f"{who} may not {action} identifiable data: the {role.name} role sees pseudonymised rows only"
    if role.organisation_scoped:
        if not actor.organisations:
            return f"{who}: the {role.name} role acts for organisations, and none is configured"
        if all_organisations:
            return f"{who} may not {action} data of every organisation: the {role.name} role sees only " \
                   f"{', '.join(actor.organisations)}"
        wanted = _organisations(organisation)
        if wanted is not None and not wanted & set(actor.organisations):
            return f"{who} may not {action} data of {', '.join(sorted(wanted))}: the {role.name} role sees " \
                   f"only {', '.join(actor.organisations)}"
    return None


def may(actor: Actor, action: str, *, organisation: str | Iterable[str] | None = None, identifiable: bool = False,
        all_organisations: bool = False) -> bool:
    return refusal(actor, action, organisation=organisation, identifiable=identifiable,
                   all_organisations=all_organisations) is None


def require(actor: Actor, action: str, *, organisation: str | Iterable[str] | None = None,
            identifiable: bool = False, all_organisations: bool = False) -> None:
    reason = refusal(actor, action, organisation=organisation, identifiable=identifiable,
                     all_organisations=all_organisations)
    if reason is not None:
        raise AccessDenied(reason)


def scope(actor: Actor, action: str) -> Scope:
    """What `actor` may see doing `action` (AccessDenied if it may not do it at all)."""
    require(actor, action)
    role = _role_for(actor, action)
    assert role is not None
    orgs = frozenset(actor.organisations) if role.organisation_scoped else None
    return Scope(role=role.name, identifiable=role.identifiable, organisations=orgs)


# --- the care service: direct care across organisations ------------------------------------------------
# An organisation sees a person only through a legitimate relationship; a shared care plan also needs the
# person's recorded consent; urgent care (NHS 111, ambulance) sees the resuscitation decision and end-of-life
# preferences regardless, as national guidance shares them; break-glass needs a reason, expires and is
# reviewed by the privacy officer. The care service gathers the facts (a CareRelationship) and asks here.
RELATIONSHIPS = ("registered_practice", "referral", "task", "care_team", "open_episode")
PERSON, CARE_PLAN, URGENT_CARE_SUMMARY = "person", "care_plan", "urgent_care_summary"
URGENT_CARE_KINDS = frozenset({"ambulance", "nhs_111"})  # organisation kinds that give urgent care
BREAK_GLASS_MIN_REASON = 10  # characters: a reason someone can later judge


@dataclass(frozen=True)
class CareRelationship:
    """The facts about one person that the decision needs: which organisations hold each relationship,
    whether consent to share the care plan is recorded (and not withdrawn), whether this actor has an
    unexpired break-glass for the person, and which of the actor's organisations give urgent care."""

    registered_practice: str | None
    referral: frozenset[str] = frozenset()
    task: frozenset[str] = frozenset()
    care_team: frozenset[str] = frozenset()
    open_episode: frozenset[str] = frozenset()
    consent_to_share: bool = False
    break_glass: bool = False
    urgent_care_organisations: frozenset[str] = frozenset()

    def holders(self, relationship: str) -> frozenset[str]:
        if relationship == "registered_practice":
            return frozenset({self.registered_practice} if self.registered_practice else ())
        return getattr(self, relationship)

    def relationships_of(self, organisations: Iterable[str]) -> list[str]:
        mine = set(organisations)
        return [r for r in RELATIONSHIPS if self.holders(r) & mine]


def care_refusal(actor: Actor, action: str, facts: CareRelationship, record: str = PERSON) -> str | None:
    """Why `actor` may not `action` this person's `record` (person, care_plan or urgent_care_summary);
    None if it may."""
    reason = refusal(actor, action, identifiable=True)
    if reason is not None:
        return reason
    who = f"{actor.user} ({', '.join(actor.roles)})"
    if record == URGENT_CARE_SUMMARY and action == READ and actor.has_role("clinician") \
            and set(actor.organisations) & facts.urgent_care_organisations:
        return None  # shared for urgent care regardless of relationship or consent
    related = facts.relationships_of(actor.organisations)
    if not related and not facts.break_glass:
        return f"{who}: no legitimate relationship with this person (registered practice, referral, task, " \
               "care team or open episode) for " + (", ".join(actor.organisations) or "no organisation")
    if record == CARE_PLAN and "registered_practice" not in related and not facts.consent_to_share:
        return f"{who}: the person has not consented (or has withdrawn consent) to sharing the care plan " \
               "beyond the registered practice"
    return None


def care_may(actor: Actor, action: str, facts: CareRelationship, record: str = PERSON) -> bool:
    return care_refusal(actor, action, facts, record) is None


def care_require(actor: Actor, action: str, facts: CareRelationship, record: str = PERSON) -> None:
    reason = care_refusal(actor, action, facts, record)
    if reason is not None:
        raise AccessDenied(reason)


@dataclass(frozen=True)
class CareScope:
    """What an actor may list in the care service: the people any of `organisations` holds a relationship
    with, and those `user` has an unexpired break-glass for. The care models map each relationship to a
    lookup in one place (`PersonQuerySet.visible_to`)."""

    user: str
    organisations: frozenset[str]
    relationships: tuple[str, ...] = RELATIONSHIPS
    break_glass: bool = True


def care_scope(actor: Actor, action: str = LIST) -> CareScope:
    """The care service's listing scope for `actor` (AccessDenied if its role may not do `action` to
    identifiable data, e.g. an administrator or a privacy officer)."""
    require(actor, action, identifiable=True)
    return CareScope(user=actor.user, organisations=frozenset(actor.organisations))


def break_glass_refusal(reason: str | None) -> str | None:
    if not reason or len(reason.strip()) < BREAK_GLASS_MIN_REASON:
        return f"break-glass needs a reason of at least {BREAK_GLASS_MIN_REASON} characters"
    return None


CASE_LIST_ROLES = ("mdt_lead", "clinician")  # an MDT's case list is for those who give direct care


def case_list_scope(actor: Actor, practices: dict[str, Iterable[str]]) -> Scope:
    """What an MDT's case list may show `actor`: the registered people of its practices, a PCN's member
    practices, a locality's (`practices`: organisation -> the practices under it), identifiable, for direct
    care. Refused (AccessDenied) for any other role."""
    require(actor, LIST, identifiable=True)
    if not any(actor.has_role(r) for r in CASE_LIST_ROLES):
        raise AccessDenied(f"{actor.user} ({', '.join(actor.roles)}) may not read an MDT case list: that is for "
                           f"the role {' or '.join(CASE_LIST_ROLES)}")
    orgs = set(actor.organisations)
    for org in actor.organisations:
        orgs |= set(practices.get(org, ()))
    return Scope(role="mdt_case_list", identifiable=True, organisations=frozenset(orgs))
