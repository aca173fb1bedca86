"""Organisations a standard is measured for, at every level of the system definition.

A person belongs to the place of their practice (practice > PCN > ICP > ICS); a provider's activity
belongs to its trust and, where the record names one, to its site (site > trust > ICS).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from icsys.errors import InputError
from icsys.system.model import System

OrgKind = Literal["ics", "icp", "pcn", "practice", "trust", "site"]
POPULATION_KINDS: tuple[OrgKind, ...] = ("icp", "pcn", "practice")
PROVIDER_KINDS: tuple[OrgKind, ...] = ("trust", "site")


class UnknownOrganisation(InputError):
    """An organisation code that is not in the system definition."""


@dataclass(frozen=True)
class Organisation:
    code: str
    name: str
    kind: OrgKind


class Hierarchy:
    """The system's organisations and how each level rolls up to the next."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.pcn_of_practice = {p.code: p.pcn for p in system.practice}
        self.icp_of_pcn = {p.code: p.icp for p in system.pcn}
        self.trust_of_site = {s.code: s.provider for s in system.site}
        self.beds_of_site = {s.code: s.general_acute_beds for s in system.site if s.general_acute_beds}

    @cached_property
    def organisations(self) -> dict[str, Organisation]:
        s = self.system
        orgs = [Organisation(s.ics.code, s.ics.name, "ics")]
        orgs += [Organisation(i.code, i.name, "icp") for i in s.icp]
        orgs += [Organisation(p.code, p.name, "pcn") for p in s.pcn]
        orgs += [Organisation(p.code, p.name, "practice") for p in s.practice]
        orgs += [Organisation(p.code, p.name, "trust") for p in s.provider]
        orgs += [Organisation(x.code, x.name, "site") for x in s.site]
        return {o.code: o for o in orgs}

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
        return {"practice": practice, "pcn": pcn or "", "icp": self.icp_of_pcn.get(pcn or "", ""),
                "ics": self.system.ics.code}

    def acute_sites(self) -> list[str]:
        """Sites with general and acute beds: the providers OPEL scores."""
        return sorted(self.beds_of_site)
