"""One organisation hierarchy for the whole system: every organisation of a system definition as an
`Organisation` (code, name, kind, parent), and the lookups between levels that population, performance,
flow, the generator, access control and the care service share.

Two hierarchies meet here and are kept apart:

* the registered one, where a person belongs through their GP practice: practice > PCN > (locality) > ICP > ICS;
* the resident one, where a person belongs through where they live: LSOA > district > council (adult social
  care), each district in one ICP.

The system definition refuses a practice whose ICP through its PCN differs from its ICP through its district
(`icsys.system.model`), so `icp_of_practice` has one answer. Trusts (any provider) and councils hang from the
ICS; a trust's sites, community units and teams hang from the trust; an SPoA from the ICP it serves (or the
ICS); a care home from its district; a hospice from the ICP it serves (or the ICS, serving several); a home-care
provider from the council that commissions it. A unitary authority's code names both its district and
its council; every other code names one organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from icsys.errors import InputError

if TYPE_CHECKING:
    from icsys.system.model import System

OrgKind = Literal["ics", "icp", "district", "locality", "pcn", "practice", "trust", "site", "council", "care_home",
                  "community_unit", "spoa", "hospice", "home_care_provider", "community_team"]
# The definition's list each kind is read from (a trust is any [[provider]]: NHS trust or other provider).
SOURCE: dict[OrgKind, str] = {"icp": "icp", "council": "council", "district": "district", "locality": "locality",
                              "pcn": "pcn", "practice": "practice", "trust": "provider", "site": "site",
                              "community_unit": "community_bed_unit", "care_home": "care_home", "spoa": "spoa",
                              "hospice": "hospice", "home_care_provider": "home_care_provider",
                              "community_team": "community_team"}
LEVELS = ("practice", "pcn", "icp", "district", "locality", "ics")


class UnknownOrganisation(InputError):
    """An organisation code that is not in the system definition (or names two and the kind is not said)."""


@dataclass(frozen=True)
class Organisation:
    code: str
    name: str
    kind: OrgKind
    parent: str | None = None  # the code of the organisation above it; None for the ICS


class Hierarchy:
    """Every organisation of a system definition, how each rolls up, and the lookups between levels. Built
    once per definition (`System.hierarchy`). The `*_by_*` mappings are read-only and suit pandas `.map`."""

    def __init__(self, system: System) -> None:
        self.system = system
        pcn = {p.code: p for p in system.pcn}
        self.icp_by_district: Mapping[str, str] = MappingProxyType({d.code: d.icp for d in system.district})
        self.council_by_district: Mapping[str, str] = MappingProxyType({d.code: d.council for d in system.district})
        self.icp_by_pcn: Mapping[str, str] = MappingProxyType({p.code: p.icp for p in system.pcn})
        self.pcn_by_practice: Mapping[str, str] = MappingProxyType({p.code: p.pcn for p in system.practice})
        self.district_by_practice: Mapping[str, str] = MappingProxyType({p.code: p.district for p in system.practice})
        self.icp_by_practice: Mapping[str, str] = MappingProxyType({p.code: pcn[p.pcn].icp for p in system.practice})
        self.trust_by_site: Mapping[str, str] = MappingProxyType({s.code: s.provider for s in system.site})
        orgs = [Organisation(system.ics.code, system.ics.name, "ics")]
        for kind, source in SOURCE.items():
            orgs += [Organisation(x.code, x.name, kind, _parent(system, kind, x)) for x in getattr(system, source)]
        self.organisations: tuple[Organisation, ...] = tuple(orgs)
        self._by_code: dict[str, list[Organisation]] = {}
        self._children: dict[str, list[Organisation]] = {}
        for org in orgs:
            self._by_code.setdefault(org.code, []).append(org)
            if org.parent is not None:
                self._children.setdefault(org.parent, []).append(org)

    # --- any organisation ---
    @property
    def ics(self) -> Organisation:
        return self.organisations[0]

    def get(self, code: str, kind: OrgKind | None = None) -> Organisation:
        """The organisation with this code (of this kind, where a unitary authority's code names two)."""
        found = [o for o in self._by_code.get(code, []) if kind is None or o.kind == kind]
        if len(found) == 1:
            return found[0]
        if found:
            raise UnknownOrganisation(f"code {code!r} names a {' and a '.join(o.kind for o in found)} of "
                                      f"{self.system.ics.name}: say which kind")
        what = f"no {kind} {code!r}" if kind else f"unknown organisation {code!r}"
        raise UnknownOrganisation(f"{what} in the system definition of {self.system.ics.name}")

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def kinds_of(self, code: str) -> tuple[OrgKind, ...]:
        """The kinds of organisation a code names (two for a unitary authority: district and council)."""
        return tuple(o.kind for o in self._by_code.get(code, []))

    def kind_of(self, code: str) -> OrgKind:
        return self.get(code).kind

    def of_kind(self, kind: OrgKind) -> list[Organisation]:
        """The organisations of one kind, in the order of the definition."""
        return [o for o in self.organisations if o.kind == kind]

    def parent(self, code: str, kind: OrgKind | None = None) -> Organisation | None:
        org = self.get(code, kind)
        return None if org.parent is None else self._parent_org(org)

    def parents(self, code: str, kind: OrgKind | None = None) -> list[Organisation]:
        """The organisations above, nearest first, ending with the ICS."""
        out, org = [], self.get(code, kind)
        while org.parent is not None:
            org = self._parent_org(org)
            out.append(org)
        return out

    def children(self, code: str, kind: OrgKind | None = None) -> list[Organisation]:
        """The organisations directly below this one (of any kind), in the order of the definition."""
        return list(self._children.get(self.get(code, kind).code, []))

    def descendants(self, code: str, kind: OrgKind | None = None) -> list[Organisation]:
        """Every organisation below this one, at any depth, parents before their children."""
        out, todo = [], self.children(code, kind)
        while todo:
            org = todo.pop(0)
            out.append(org)
            todo = self._children.get(org.code, []) + todo
        return out

    def _parent_org(self, org: Organisation) -> Organisation:
        candidates = self._by_code[org.parent]  # type: ignore[index]
        if len(candidates) == 1:
            return candidates[0]
        # a unitary authority: a care home stands in its district, a home-care provider answers to its council
        wanted = "council" if org.kind == "home_care_provider" else "district"
        return next(o for o in candidates if o.kind == wanted)

    # --- between levels ---
    def icp_of_district(self, code: str) -> str:
        return self._look("district", code, self.icp_by_district)

    def council_of_district(self, code: str) -> str:
        """The council responsible for adult social care in a district (the resident hierarchy)."""
        return self._look("district", code, self.council_by_district)

    def icp_of_pcn(self, code: str) -> str:
        return self._look("pcn", code, self.icp_by_pcn)

    def icp_of_practice(self, code: str) -> str:
        """The ICP of a practice through its PCN (the same as through its district: the definition checks it)."""
        return self._look("practice", code, self.icp_by_practice)

    def pcn_of_practice(self, code: str) -> str:
        return self._look("practice", code, self.pcn_by_practice)

    def district_of_practice(self, code: str) -> str:
        return self._look("practice", code, self.district_by_practice)

    def trust_of_site(self, code: str) -> str:
        return self._look("site", code, self.trust_by_site)

    def icp_of(self, code: str, kind: OrgKind | None = None) -> str | None:
        """The ICP an organisation belongs to: through its PCN for a practice, through its district for a site,
        community unit, care home or hospice, the one it serves for an SPoA or a team; None for the ICS and
        organisations that serve all of it (trusts, councils, an ICS-wide SPoA, a hospice serving several)."""
        org = self.get(code, kind)
        if org.kind == "icp":
            return org.code
        if org.kind == "practice":
            return self.icp_by_practice[org.code]
        if org.kind in ("ics", "trust", "council", "home_care_provider"):
            return None
        item = self._entry(org)
        if org.kind == "hospice":
            return item.icps[0] if len(item.icps) == 1 else None
        if org.kind in ("locality", "pcn", "spoa", "community_team"):
            return item.icp or None
        return item.icp if org.kind == "district" else self.icp_by_district[item.district]

    def _entry(self, org: Organisation) -> Any:
        """The definition's own entry for an organisation (the ICS's lists hold them by kind)."""
        return next(x for x in getattr(self.system, SOURCE[org.kind]) if x.code == org.code)

    def _look(self, kind: str, code: str, table: Mapping[str, str]) -> str:
        try:
            return table[code]
        except KeyError:
            raise UnknownOrganisation(f"no {kind} {code!r} in the system definition of "
                                      f"{self.system.ics.name}") from None


def _parent(system: System, kind: OrgKind, item: Any) -> str:
    """The code of the organisation above one of the definition's entries."""
    ics = system.ics.code
    if kind == "pcn":
        return item.locality or item.icp
    if kind in ("icp", "trust", "council"):
        return ics
    if kind == "hospice":
        icps = item.icps
        return icps[0] if len(icps) == 1 else ics
    if kind == "spoa":
        return item.icp or ics
    attribute = {"district": "icp", "locality": "icp", "practice": "pcn", "site": "provider",
                 "community_unit": "provider", "care_home": "district", "home_care_provider": "council",
                 "community_team": "provider"}[kind]
    return getattr(item, attribute)


def practice_places(system: System) -> pd.DataFrame:
    """One row per practice: practice, pcn, icp, district, locality and ics codes, and a *_name for each.
    Person-level figures are placed by the person's practice."""
    h = system.hierarchy
    pcn = {p.code: p for p in system.pcn}
    names = {kind: {x.code: x.name for x in getattr(system, kind)}
             for kind in ("practice", "pcn", "icp", "district", "locality")}
    rows = [{"practice": p.code, "pcn": p.pcn, "icp": h.icp_of_practice(p.code), "district": p.district,
             "locality": pcn[p.pcn].locality or "", "ics": system.ics.code} for p in system.practice]
    frame = pd.DataFrame(rows)
    for kind, lookup in names.items():
        frame[f"{kind}_name"] = frame[kind].map(lookup).fillna("")
    frame["ics_name"] = system.ics.name
    return frame
