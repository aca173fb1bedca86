"""The ICS as configured: organisations, geography and capacities, validated on load.

A system definition is data (TOML), not code. These pydantic models are its schema:
`icsys system schema` writes them out as JSON Schema so another ICS can be described
in the same format and checked before anything runs.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from icsys.system.hierarchy import Hierarchy

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
    # Beds kept apart as the KH03 return keeps them (G&A, maternity, mental illness; critical care in its
    # own return): occupancy of one category is never read against the beds of another.
    general_acute_beds: int = Field(default=0, ge=0)
    escalation_beds: int = Field(default=0, ge=0, description="G&A escalation beds that can be opened")
    critical_care_beds: int = Field(default=0, ge=0)
    maternity_beds: int = Field(default=0, ge=0)
    mental_health_beds: int = Field(default=0, ge=0, description="Mental illness beds (KH03)")


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


class SinglePointOfAccess(_Strict):
    """A single point of access (SPoA): the call-handling hub that takes a referral (a hospital discharge, a GP's
    request) and coordinates the community, social care and voluntary services around the person."""

    code: str = Field(description="Code of the service (invented where ODS publishes none)")
    name: str
    provider: str = Field(description="Code of the provider that runs it")
    icp: str = Field(default="", description="The ICP it serves; empty for the whole ICS")
    service: Literal["discharge_and_community", "mental_health"] = "discharge_and_community"


class Hospice(_Strict):
    code: str = Field(description="Code of the hospice (invented where ODS publishes none)")
    name: str
    district: str = Field(description="Where its main inpatient unit is")
    icps: list[str] = Field(min_length=1, description="The ICPs it serves")
    inpatient_beds: int = Field(default=0, ge=0)
    children: bool = Field(default=False, description="True for a children's hospice")


class HomeCareProvider(_Strict):
    """A provider of care at home commissioned by a council: reablement or domiciliary (home) care."""

    code: str = Field(description="Code of the provider (invented: CQC registers them, ODS mostly does not)")
    name: str
    council: str = Field(description="The council that commissions it")
    districts: list[str] = Field(min_length=1, description="The districts it serves")
    service: Literal["reablement", "domiciliary"]


class CommunityTeam(_Strict):
    """A team of a community provider serving one ICP (district nursing, rapid response, hospital at home)."""

    code: str = Field(description="Code of the team (invented)")
    name: str
    provider: str
    icp: str
    service: Literal["district_nursing", "rapid_response", "hospital_at_home", "frailty", "therapy",
                     "mental_health"]


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
    spoa: list[SinglePointOfAccess] = []
    hospice: list[Hospice] = []
    home_care_provider: list[HomeCareProvider] = []
    community_team: list[CommunityTeam] = []

    @model_validator(mode="after")
    def _codes_unique_and_resolve(self) -> System:
        problems: list[str] = []
        for kind in ORGANISATION_LISTS:
            counts = Counter(item.code for item in getattr(self, kind))
            problems += [f"{kind} code {code!r} appears {n} times" for code, n in counts.items() if n > 1]
        problems += _shared_codes(self)
        unresolved = _unresolved(self)
        # the two hierarchies can only be compared once every reference resolves
        problems += unresolved or _registered_against_resident(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def list_size(self) -> int:
        return sum(p.list_size for p in self.practice)

    @cached_property
    def hierarchy(self) -> Hierarchy:
        """Every organisation of the system in one tree, with the lookups between levels."""
        from icsys.system.hierarchy import Hierarchy

        return Hierarchy(self)

    def icp_of_district(self, code: str) -> str:
        return self.hierarchy.icp_of_district(code)

    def icp_of_pcn(self, code: str) -> str:
        return self.hierarchy.icp_of_pcn(code)

    def icp_of_practice(self, code: str) -> str:
        return self.hierarchy.icp_of_practice(code)


# The lists of organisations a definition holds, each a kind of its own (the ICS aside).
ORGANISATION_LISTS = ("icp", "council", "district", "locality", "pcn", "practice", "provider", "site",
                      "community_bed_unit", "care_home", "spoa", "hospice", "home_care_provider", "community_team")


def _shared_codes(system: System) -> list[str]:
    """A code names one organisation, but for a unitary authority, which is both a district and its council."""
    kinds: dict[str, set[str]] = {system.ics.code: {"ics"}}
    for kind in ORGANISATION_LISTS:
        for item in getattr(system, kind):
            kinds.setdefault(item.code, set()).add(kind)
    return [f"code {code!r} is used by a {' and a '.join(sorted(k))}: a code names one organisation"
            for code, k in kinds.items() if len(k) > 1 and k != {"district", "council"}]


def _registered_against_resident(system: System) -> list[str]:
    """A practice's ICP through its PCN (the registered hierarchy: practice > PCN > ICP) must be its ICP through
    the district it stands in (the resident one: LSOA > district > council, a district in one ICP); a PCN's
    locality must be in the PCN's ICP; a district's council must be the adult social care authority."""
    pcn = {p.code: p for p in system.pcn}
    district = {d.code: d for d in system.district}
    locality = {loc.code: loc for loc in system.locality}
    council = {c.code: c for c in system.council}
    problems = [f"practice {p.code!r} ({p.name}) is in ICP {pcn[p.pcn].icp!r} through its PCN {p.pcn!r} but in ICP "
                f"{district[p.district].icp!r} through its district {p.district!r} ({district[p.district].name}): "
                "a practice's PCN and district must be in the same ICP"
                for p in system.practice if pcn[p.pcn].icp != district[p.district].icp]
    problems += [f"pcn {p.code!r} ({p.name}) is in ICP {p.icp!r} but its locality {p.locality!r} is in ICP "
                 f"{locality[p.locality].icp!r}"
                 for p in system.pcn if p.locality and locality[p.locality].icp != p.icp]
    problems += [f"district {d.code!r} ({d.name}) names council {d.council!r} for adult social care, which is not "
                 "a social care authority" for d in system.district if not council[d.council].social_care]
    problems += [f"home_care_provider {h.code!r} ({h.name}) serves district {d!r}, whose council is "
                 f"{district[d].council!r}, not the one that commissions it ({h.council!r})"
                 for h in system.home_care_provider for d in h.districts if district[d].council != h.council]
    return problems


def _unresolved(system: System) -> list[str]:
    """Every reference from one organisation to another must name one that exists."""
    known = {kind: {item.code for item in getattr(system, kind)}
             for kind in ("icp", "council", "district", "locality", "pcn", "provider")}
    known["icp_or_ics"] = known["icp"] | {""}
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
    refs += [("spoa", x.code, x.provider, "provider") for x in system.spoa]
    refs += [("spoa", x.code, x.icp, "icp_or_ics") for x in system.spoa]
    refs += [("hospice", x.code, x.district, "district") for x in system.hospice]
    refs += [("hospice", x.code, icp, "icp") for x in system.hospice for icp in x.icps]
    refs += [("home_care_provider", x.code, x.council, "council") for x in system.home_care_provider]
    refs += [("home_care_provider", x.code, d, "district") for x in system.home_care_provider for d in x.districts]
    refs += [("community_team", x.code, x.provider, "provider") for x in system.community_team]
    refs += [("community_team", x.code, x.icp, "icp") for x in system.community_team]
    return [f"{what} {code!r} refers to unknown {target.removesuffix('_or_ics')} {ref!r}"
            for what, code, ref, target in refs if ref not in known[target]]
