"""Where a person goes for care: their A&E sites, acute trust, community and mental health providers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icsys.synth.context import Population, SynthContext
from icsys.system import System


@dataclass(frozen=True)
class Catchment:
    """Per district: the sites a resident uses for type 1 and type 3 A&E, with their share."""

    type1_sites: dict[str, tuple[list[str], np.ndarray]]
    type3_sites: dict[str, tuple[list[str], np.ndarray]]
    provider_of_site: dict[str, str]
    community_provider: dict[str, str]
    mental_health_provider: str
    ambulance_provider: str
    council: dict[str, str]


def catchment(system: System) -> Catchment:
    icp_of = {d.code: d.icp for d in system.district}
    type1: dict[str, tuple[list[str], np.ndarray]] = {}
    type3: dict[str, tuple[list[str], np.ndarray]] = {}
    for district in system.district:
        for ed_type, out in ((1, type1), (3, type3)):
            sites = [s for s in system.site if s.ed_type == ed_type and icp_of[s.district] == district.icp]
            if not sites:  # an ICP with no such department: use the whole system's
                sites = [s for s in system.site if s.ed_type == ed_type]
            # Nearest first: a site in the same district takes three times the share of one elsewhere.
            weight = np.array([max(s.general_acute_beds, 50) * (3 if s.district == district.code else 1)
                               for s in sites], float)
            out[district.code] = ([s.code for s in sites], weight / weight.sum())
    community = {}
    community_providers = [p for p in system.provider if p.kind == "community"]
    for district in system.district:
        # The community provider with beds or sites in the district, else the largest.
        local = [u.provider for u in system.community_bed_unit if u.district == district.code]
        local += [s.provider for s in system.site if s.district == district.code and s.kind == "community_hospital"]
        community[district.code] = local[0] if local else community_providers[0].code
    return Catchment(
        type1_sites=type1, type3_sites=type3,
        provider_of_site={s.code: s.provider for s in system.site},
        community_provider=community,
        mental_health_provider=next(p.code for p in system.provider if p.kind == "mental_health"),
        ambulance_provider=next(p.code for p in system.provider if p.kind == "ambulance"),
        council={d.code: d.council for d in system.district},
    )


def choose_sites(rng: np.random.Generator, districts: np.ndarray, table: dict[str, tuple[list[str], np.ndarray]]
                 ) -> np.ndarray:
    """A site code for each row, drawn from its district's catchment."""
    out = np.empty(len(districts), dtype=object)
    for code in np.unique(districts):
        mask = districts == code
        sites, p = table[code]
        out[mask] = np.array(sites, dtype=object)[rng.choice(len(sites), size=int(mask.sum()), p=p)]
    return out


def usual_site(ctx: SynthContext, pop: Population, cat: Catchment) -> np.ndarray:
    """Each person's usual type 1 hospital (fixed per person), for admissions and outpatients."""
    return choose_sites(ctx.rng("usual_site", pop.chunk), pop.district, cat.type1_sites)


def map_codes(values: np.ndarray, mapping: dict[str, str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for key in np.unique(values):
        out[values == key] = mapping[key]
    return out
