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
ACTIONS = (READ, LIST, EXPORT, LOAD, DERIVE, AUDIT)
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
    Role("clinician", "direct care of the people of its organisations", frozenset({READ, LIST, EXPORT}),
         identifiable=True, organisation_scoped=True),
    Role("privacy_officer", "oversight of the audit log", frozenset({AUDIT}),
         identifiable=False, organisation_scoped=False),
)}


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
