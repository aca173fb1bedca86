"""The care service's organisations, read from the system definition: the one hierarchy (ICB > ICP > PCN >
practice; trusts by kind; councils with adult social care; care homes; hospices).

This is the only module that reads `icsys.system.model.System` for the care service. The SPoAs, hospices and
home-care providers come from the definition; it does not yet hold NHS 111, which `_care_only()` supplies
with a local code (X-prefixed) until it does."""

from __future__ import annotations

from dataclasses import dataclass

from icsys.system import load_system
from icsys.system.model import System

_PROVIDER_KINDS = {"acute": "acute", "community": "community", "mental_health": "mental_health",
                   "ambulance": "ambulance", "primary_care": "community", "independent": "community"}


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    kind: str
    parent: str | None = None


def organisations(system: System | None = None) -> list[Org]:
    """Every organisation of the definition, parents before children."""
    system = system or load_system()
    out = [Org(system.ics.code, system.ics.name, "ics")]
    out += [Org(i.code, i.name, "icp", system.ics.code) for i in system.icp]
    out += [Org(p.code, p.name, "pcn", p.icp) for p in system.pcn]
    out += [Org(p.code, p.name, "practice", p.pcn) for p in system.practice]
    out += [Org(p.code, p.name, _PROVIDER_KINDS[p.kind], system.ics.code) for p in system.provider]
    out += [Org(f"{c.code}-ASC", f"{c.name} adult social care", "social_care", system.ics.code)
            for c in system.council if c.social_care]
    out += [Org(h.code, h.name, "care_home") for h in system.care_home]
    out += [Org(u.code, u.name, "hospice", u.provider if u.provider in {p.code for p in system.provider} else None)
            for u in system.community_bed_unit if u.kind == "hospice"]
    known = {o.code for o in out}
    out += [o for o in _from_definition(system) + _care_only(system) if o.code not in known]
    return _unique(out)


def _from_definition(system: System) -> list[Org]:
    """SPoA, NHS 111 and home-care providers when the definition holds them (the coming lookups)."""
    out: list[Org] = []
    for attr, kind in (("spoa", "spoa"), ("nhs_111", "nhs_111"), ("home_care_provider", "home_care"),
                       ("hospice", "hospice")):
        out += [Org(x.code, x.name, kind, getattr(x, "icp", None) or system.ics.code)
                for x in getattr(system, attr, None) or []]
    return out


def _care_only(system: System) -> list[Org]:
    """Organisations the care service needs that the definition does not hold yet (local codes, X-prefixed)."""
    if getattr(system, "nhs_111", None):
        return []
    return [Org("X111", "NHS 111 Kent, Medway and Sussex", "nhs_111", system.ics.code)]


def _unique(orgs: list[Org]) -> list[Org]:
    seen: set[str] = set()
    out = []
    for org in orgs:
        if org.code not in seen:
            seen.add(org.code)
            out.append(org)
    return out


def load_organisations(system: System | None = None) -> int:
    """Write the organisations into the care database (idempotent: names and parents refreshed)."""
    from icsys.care.models import Organisation

    orgs = organisations(system)
    codes = {o.code for o in orgs}
    if not Organisation.objects.exists():  # a new database: one insert
        Organisation.objects.bulk_create([Organisation(code=o.code, name=o.name, kind=o.kind,
                                                       parent_id=o.parent if o.parent in codes else None)
                                          for o in orgs])
        return len(orgs)
    for org in orgs:
        parent = org.parent if org.parent in codes else None
        Organisation.objects.update_or_create(code=org.code, defaults={"name": org.name, "kind": org.kind,
                                                                        "parent_id": parent})
    return len(orgs)


def spoa_for(practice: str) -> str:
    """The single point of access serving a practice's ICP (the definition has one per ICP), else the first."""
    from icsys.care.models import Organisation

    spoas = Organisation.objects.filter(kind="spoa").order_by("code")
    icp = Organisation.objects.filter(code=practice, kind="practice").values_list("parent__parent", flat=True).first()
    serving = spoas.filter(parent_id=icp).first() if icp else None
    first = serving or spoas.first()
    return first.code if first else ""
