"""The care service's organisations: those of the system's one hierarchy (`System.hierarchy`, icsys.system),
as the care service's kinds. Nothing here builds a hierarchy of its own: each organisation keeps the
hierarchy's code and name, and its parent is its nearest ancestor there that the care service holds (a
PCN's locality is not one, so a PCN hangs from its ICP; a care home's district is not, so it hangs from the
ICP). Two additions the definition does not hold as organisations: a council's adult social care
(`<council>-ASC`, where the council has social care) and NHS 111 (a local code, X-prefixed, until the
definition holds it)."""

from __future__ import annotations

from dataclasses import dataclass

from icsys.system import load_system
from icsys.system.hierarchy import Hierarchy
from icsys.system.hierarchy import Organisation as SystemOrganisation
from icsys.system.model import System

# The provider's kind in the definition -> the care service's kind of organisation.
_PROVIDER_KINDS = {"acute": "acute", "community": "community", "mental_health": "mental_health",
                   "ambulance": "ambulance", "primary_care": "community", "independent": "community"}
# The hierarchy's kind -> the care service's (trusts and community units are decided by their own kind).
_KINDS = {"ics": "ics", "icp": "icp", "pcn": "pcn", "practice": "practice", "care_home": "care_home",
          "spoa": "spoa", "hospice": "hospice", "home_care_provider": "home_care"}
NHS_111 = ("X111", "NHS 111 Kent, Medway and Sussex")


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    kind: str
    parent: str | None = None


def _kind(system: System, org: SystemOrganisation) -> str | None:
    if org.kind == "trust":
        return _PROVIDER_KINDS[next(p.kind for p in system.provider if p.code == org.code)]
    if org.kind == "community_unit":  # a hospice's beds are held as a community unit
        unit = next(u for u in system.community_bed_unit if u.code == org.code)
        return "hospice" if unit.kind == "hospice" else None
    return _KINDS.get(org.kind)


def _nearest_held(hierarchy: Hierarchy, org: SystemOrganisation, held: set[str]) -> str | None:
    for above in hierarchy.parents(org.code, org.kind):
        if above.code in held:
            return above.code
    return None


def organisations(system: System | None = None) -> list[Org]:
    """Every organisation the care service holds, parents before children (the hierarchy's order)."""
    system = system or load_system()
    hierarchy = system.hierarchy
    chosen = [(org, kind) for org in hierarchy.organisations if (kind := _kind(system, org)) is not None]
    held = {org.code for org, _ in chosen}
    out: list[Org] = []
    for org, kind in chosen:
        if org.code not in {o.code for o in out}:  # a hospice both listed and holding beds: once
            out.append(Org(org.code, org.name, kind, _nearest_held(hierarchy, org, held)))
    ics = hierarchy.ics.code
    out += [Org(f"{c.code}-ASC", f"{c.name} adult social care", "social_care", ics)
            for c in system.council if c.social_care]
    if NHS_111[0] not in held:
        out.append(Org(*NHS_111, "nhs_111", ics))
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


def spoa_for(practice: str, system: System | None = None) -> str:
    """The single point of access serving a practice's ICP (the hierarchy's ICP of the practice), else the first."""
    from icsys.care.models import Organisation

    spoas = Organisation.objects.filter(kind="spoa").order_by("code")
    hierarchy = (system or load_system()).hierarchy
    icp = hierarchy.icp_of_practice(practice) if practice in hierarchy else None
    serving = spoas.filter(parent_id=icp).first() if icp else None
    first = serving or spoas.first()
    return first.code if first else ""
