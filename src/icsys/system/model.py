"""The ICS as configured: organisations, geography and capacities, validated on load.

A system definition is data (TOML), not code. These pydantic models are its schema:
`icsys system schema` writes them out as JSON Schema so another ICS can be described
in the same format and checked before anything runs.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ProviderKind = Literal["acute", "community", "mental_health", "ambulance", "primary_care", "independent"]
SiteKind = Literal["acute", "community_hospital", "urgent_treatment_centre", "minor_injuries_unit", "mental_health"]
CouncilKind = Literal["county", "unitary", "district"]
EthnicGroup = Literal["White", "Asian", "Black", "Mixed", "Other"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ICS(_Strict):
    code: str = Field(description="ODS code of the integrated care board")
    name: str
    region: str
    population_year: int = Field(description="Year the list sizes and populations describe")
    source: str = Field(default="", description="Where the figures come from")


class ICP(_Strict):
    code: str
    name: str


class Council(_Strict):
    code: str = Field(description="ONS code of the local authority")
    name: str
    kind: CouncilKind
    social_care: bool = Field(description="True if it is the adult social care authority")
    domiciliary_hours_per_week: float = Field(default=0, ge=0, description="Commissioned home care hours a week")
    reablement_places: int = Field(default=0, ge=0, description="People who can be in reablement at once")


class District(_Strict):
    """A local authority district: the unit of geography for population and deprivation."""

    code: str = Field(description="ONS code of the district or unitary authority")
    name: str
    icp: str
    council: str = Field(description="Code of the council responsible for adult social care here")
    population: int = Field(gt=0, description="Resident population (Census 2021)")
    share_65_plus: float = Field(gt=0, lt=1)
    share_0_15: float = Field(gt=0, lt=1)
    imd_decile_shares: list[float] = Field(
        min_length=10, max_length=10, description="Share of LSOAs in national IMD deciles 1 (most deprived) to 10"
    )
    ethnicity_shares: dict[EthnicGroup, float]
    lsoa_count: int = Field(gt=0)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> District:
        for name, shares in (("imd_decile_shares", self.imd_decile_shares),
                             ("ethnicity_shares", list(self.ethnicity_shares.values()))):
            if abs(sum(shares) - 1) > 0.01:
                raise ValueError(f"district {self.code}: {name} add up to {sum(shares):.3f}, not 1")
        return self


class Locality(_Strict):
    code: str
    name: str
    icp: str
    healthy_living_centre: str = ""


class PCN(_Strict):
    code: str
    name: str
    icp: str
    locality: str = ""


class Practice(_Strict):
    code: str = Field(description="ODS code of the GP practice")
    name: str
    pcn: str
    district: str
    list_size: int = Field(gt=0)


class Provider(_Strict):
    code: str = Field(description="ODS code of the trust or provider")
    name: str
    kind: ProviderKind


class Site(_Strict):
    code: str
    name: str
    provider: str
    kind: SiteKind
    district: str
    ed_type: int | None = Field(default=None, ge=1, le=4, description="A&E department type, if any")
    general_acute_beds: int = Field(default=0, ge=0)
    escalation_beds: int = Field(default=0, ge=0)
    critical_care_beds: int = Field(default=0, ge=0)


class CommunityBedUnit(_Strict):
    code: str
    name: str
    provider: str
    district: str
    beds: int = Field(gt=0)
    kind: Literal["intermediate_care", "rehabilitation", "step_down", "hospice"] = "intermediate_care"


class CareHome(_Strict):
    code: str
    name: str
    district: str
    kind: Literal["residential", "nursing"]
    beds: int = Field(gt=0)


class System(_Strict):
    ics: ICS
    icp: list[ICP]
    council: list[Council]
    district: list[District]
    locality: list[Locality] = []
    pcn: list[PCN]
    practice: list[Practice]
    provider: list[Provider]
    site: list[Site]
    community_bed_unit: list[CommunityBedUnit] = []
    care_home: list[CareHome] = []

    @model_validator(mode="after")
    def _codes_unique_and_resolve(self) -> System:
        problems: list[str] = []
        for kind in ("icp", "council", "district", "locality", "pcn", "practice", "provider", "site",
                     "community_bed_unit", "care_home"):
            counts = Counter(item.code for item in getattr(self, kind))
            problems += [f"{kind} code {code!r} appears {n} times" for code, n in counts.items() if n > 1]
        problems += _unresolved(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def list_size(self) -> int:
        return sum(p.list_size for p in self.practice)


def _unresolved(system: System) -> list[str]:
    """Every reference from one organisation to another must name one that exists."""
    known = {kind: {item.code for item in getattr(system, kind)}
             for kind in ("icp", "council", "district", "locality", "pcn", "provider")}
    refs: list[tuple[str, str, str, str]] = []  # (what, code, field, target kind)
    refs += [("district", d.code, d.icp, "icp") for d in system.district]
    refs += [("district", d.code, d.council, "council") for d in system.district]
    refs += [("locality", loc.code, loc.icp, "icp") for loc in system.locality]
    refs += [("pcn", p.code, p.icp, "icp") for p in system.pcn]
    refs += [("pcn", p.code, p.locality, "locality") for p in system.pcn if p.locality]
    refs += [("practice", p.code, p.pcn, "pcn") for p in system.practice]
    refs += [("practice", p.code, p.district, "district") for p in system.practice]
    refs += [("site", s.code, s.provider, "provider") for s in system.site]
    refs += [("site", s.code, s.district, "district") for s in system.site]
    refs += [("community_bed_unit", u.code, u.provider, "provider") for u in system.community_bed_unit]
    refs += [("community_bed_unit", u.code, u.district, "district") for u in system.community_bed_unit]
    refs += [("care_home", h.code, h.district, "district") for h in system.care_home]
    return [f"{what} {code!r} refers to unknown {target} {ref!r}"
            for what, code, ref, target in refs if ref not in known[target]]
