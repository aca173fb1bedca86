"""Where a person goes for care: their A&E sites, acute trust, community and mental health providers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icsys.synth.context import Population, SynthContext
from icsys.system import System


@dataclass(frozen=True)
class Catchment:
    """Per district: the sites a resident uses for type 1 and type 3 A&E, with their share; per admitting
    site: where the bed is (the site itself, or a site of the same trust without a major A&E)."""

    type1_sites: dict[str, tuple[list[str], np.ndarray]]
    type3_sites: dict[str, tuple[list[str], np.ndarray]]
    bed_sites: dict[str, tuple[list[str], np.ndarray]]
    maternity_sites: dict[str, tuple[list[str], np.ndarray]]
    provider_of_site: dict[str, str]
    community_provider: dict[str, str]
    mental_health_provider: str
    ambulance_provider: str
    council: dict[str, str]


def catchment(system: System) -> Catchment:
    icp_of = system.hierarchy.icp_by_district
    type3: dict[str, tuple[list[str], np.ndarray]] = {}
    for district in system.district:
        sites = [s for s in system.site if s.ed_type == 3 and icp_of[s.district] == district.icp]
        if not sites:  # an ICP with no such department: use the whole system's
            sites = [s for s in system.site if s.ed_type == 3]
        # Nearest first: a site in the same district takes three times the share of one elsewhere.
        weight = np.array([max(s.general_acute_beds, 50) * (3 if s.district == district.code else 1)
                           for s in sites], float)
        type3[district.code] = ([s.code for s in sites], weight / weight.sum())
    community = {}
    community_providers = [p for p in system.provider if p.kind == "community"]
    for district in system.district:
        # The community provider with beds or sites in the district, else the largest.
        local = [u.provider for u in system.community_bed_unit if u.district == district.code]
        local += [s.provider for s in system.site if s.district == district.code and s.kind == "community_hospital"]
        community[district.code] = local[0] if local else community_providers[0].code
    return Catchment(
        type1_sites=_type1_catchment(system), type3_sites=type3, bed_sites=_bed_sites(system),
        maternity_sites=_maternity_sites(system),
        provider_of_site={s.code: s.provider for s in system.site},
        community_provider=community,
        mental_health_provider=next(p.code for p in system.provider if p.kind == "mental_health"),
        ambulance_provider=next(p.code for p in system.provider if p.kind == "ambulance"),
        council={d.code: d.council for d in system.district},
    )


def _admitting_beds(system: System) -> dict[str, float]:
    """Beds behind each major A&E: its own, plus its share of its trust's beds at sites without one."""
    acute = [s for s in system.site if s.kind == "acute" and s.general_acute_beds > 0]
    out: dict[str, float] = {}
    for provider in {s.provider for s in acute}:
        sites = [s for s in acute if s.provider == provider]
        ed = [s for s in sites if s.ed_type == 1]
        other = sum(s.general_acute_beds for s in sites if s.ed_type != 1)
        own = sum(s.general_acute_beds for s in ed)
        out |= {s.code: s.general_acute_beds * (1 + other / own) for s in ed}
    return out


def _type1_catchment(system: System) -> dict[str, tuple[list[str], np.ndarray]]:
    """District x major A&E shares, near first (3 x in the same district, 1 in the same ICP, 0.15 beyond),
    fitted by iterative proportional fitting so that each hospital's expected demand matches its beds:
    people use nearby hospitals, and hospitals are sized to the people who use them."""
    capacity = _admitting_beds(system)
    sites = [s for s in system.site if s.code in capacity]
    icp_of = system.hierarchy.icp_by_district
    weight = np.array([[3.0 if s.district == d.code else 1.0 if icp_of[s.district] == d.icp else 0.15
                        for s in sites] for d in system.district])
    rows = np.array([d.population for d in system.district], float)
    cols = np.array([capacity[s.code] for s in sites]) * rows.sum() / sum(capacity.values())
    for _ in range(200):
        weight *= (rows / weight.sum(axis=1))[:, None]
        weight *= cols / weight.sum(axis=0)
    return {d.code: ([s.code for s in sites], w / w.sum()) for d, w in zip(system.district, weight, strict=True)}


def _bed_sites(system: System) -> dict[str, tuple[list[str], np.ndarray]]:
    """For each major A&E site, where its admissions are bedded: mostly there, and at its trust's sites
    without a major A&E in proportion to their beds (e.g. Kent and Canterbury for East Kent)."""
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    for site in system.site:
        if site.ed_type != 1:
            continue
        trust = [s for s in system.site if s.provider == site.provider and s.kind == "acute" and s.general_acute_beds]
        other = [s for s in trust if s.ed_type != 1]
        total = sum(s.general_acute_beds for s in trust)
        weights = [sum(s.general_acute_beds for s in trust if s.ed_type == 1)] + [s.general_acute_beds for s in other]
        out[site.code] = ([site.code] + [s.code for s in other], np.array(weights, float) / total)
    return out


def _maternity_sites(system: System) -> dict[str, tuple[list[str], np.ndarray]]:
    """For each site, where its births are: its trust's maternity units in proportion to their beds (a birth
    is in a maternity bed, never a G&A one; Kent and Canterbury has none, Maidstone a midwife-led unit)."""
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    units = [s for s in system.site if s.maternity_beds]
    for site in system.site:
        trust = [s for s in units if s.provider == site.provider] or units
        beds = np.array([s.maternity_beds for s in trust], float)
        out[site.code] = ([s.code for s in trust], beds / beds.sum())
    return out


def bed_site(rng: np.random.Generator, admitting: np.ndarray, cat: Catchment) -> np.ndarray:
    """Where each admission is bedded, from the site that admitted it (other sites are kept as they are)."""
    out = admitting.astype(object).copy()
    for code, (sites, p) in cat.bed_sites.items():
        mask = admitting == code
        if len(sites) > 1 and mask.any():
            out[mask] = np.array(sites, dtype=object)[rng.choice(len(sites), size=int(mask.sum()), p=p)]
    return out


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
