"""Organisations a standard is measured for, at every level of the system definition.

A person belongs to the place of their practice (practice > PCN > ICP > ICS); a provider's activity
belongs to its trust and, where the record names one, to its site (site > trust > ICS).
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal, cast

from icsys.system.hierarchy import Organisation, UnknownOrganisation
from icsys.system.model import System

# The KH03 bed categories the system definition holds (critical care from the critical care return).
BedCategory = Literal["general_acute", "maternity", "critical_care", "mental_health"]
BED_CATEGORIES: tuple[BedCategory, ...] = ("general_acute", "maternity", "critical_care", "mental_health")
OrgKind = Literal["ics", "icp", "pcn", "practice", "trust", "site"]
MEASURED_KINDS: tuple[OrgKind, ...] = ("ics", "icp", "pcn", "practice", "trust", "site")
POPULATION_KINDS: tuple[OrgKind, ...] = ("icp", "pcn", "practice")
PROVIDER_KINDS: tuple[OrgKind, ...] = ("trust", "site")

__all__ = ["POPULATION_KINDS", "PROVIDER_KINDS", "Hierarchy", "OrgKind", "Organisation", "UnknownOrganisation"]


class Hierarchy:
    """The system's hierarchy (`System.hierarchy`) as performance sees it: the organisations a standard is
    measured for, and the roll-ups between their levels as mappings."""

    def __init__(self, system: System) -> None:
        self.system = system
        tree = system.hierarchy
        self.pcn_of_practice = tree.pcn_by_practice
        self.icp_of_pcn = tree.icp_by_pcn
        self.trust_of_site = tree.trust_by_site
        self.beds_of_site = {s.code: s.general_acute_beds for s in system.site if s.general_acute_beds}
        self.beds_by_category = {category: {s.code: getattr(s, f"{category}_beds") for s in system.site
                                            if getattr(s, f"{category}_beds")} for category in BED_CATEGORIES}

    @cached_property
    def organisations(self) -> dict[str, Organisation]:
        by_kind = {kind: self.system.hierarchy.of_kind(kind) for kind in MEASURED_KINDS}
        return {o.code: o for kind in MEASURED_KINDS for o in by_kind[kind]}

    def get(self, code: str) -> Organisation:
        try:
            return self.organisations[code]
        except KeyError:
            close = [c for c in self.organisations if c.upper().startswith(code.upper()[:3])][:8]
            hint = f"; codes like it: {', '.join(close)}" if close else ""
            raise UnknownOrganisation(f"unknown organisation {code!r}: not the ICS, an ICP, PCN, practice, "
                                      f"trust or site of {self.system.ics.name}{hint}") from None

    def of_kind(self, kind: OrgKind) -> list[Organisation]:
        return [o for o in self.organisations.values() if o.kind == kind]

    @property
    def ics(self) -> Organisation:
        return self.of_kind("ics")[0]

    def practice_parents(self, practice: str) -> dict[OrgKind, str]:
        """The PCN, ICP and ICS a practice rolls up to."""
        pcn = self.pcn_of_practice.get(practice)
        return cast(dict[OrgKind, str], {"practice": practice, "pcn": pcn or "",
                                         "icp": self.icp_of_pcn.get(pcn or "", ""), "ics": self.system.ics.code})

    def acute_sites(self) -> list[str]:
        """Sites with general and acute beds: the providers OPEL scores."""
        return sorted(self.beds_of_site)
