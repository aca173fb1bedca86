"""Per-person measures as Ibis expressions over the dataset: who is registered on a date, the
electronic Frailty Index, long-term conditions and case-finding flags with their reasons.

eFI: Clegg A, et al. Development and validation of an electronic frailty index using routine primary
care electronic health record data. Age Ageing 2016;45:353-60. 36 deficits (codelist
codes/efi_deficits.csv); score = deficits / 36; fit 0-4 deficits, mild 5-8, moderate 9-12, severe 13+.
Polypharmacy is the one deficit read from medicines: 5 or more distinct medicines issued in the year.
The eFI is defined for people aged 65 and over: person measures score only them (empty below 65).

Registers and long-term conditions follow the QOF business rules (registers.toml): the register's age rule
(whole years on the date), the latest diagnosis deciding against a later resolved code, and a first date
from which a diagnosis counts. Who is registered is the registration in force on the date (gp_registration,
or the person table's one registration for a store without a history).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from icsys.codes import codelists
from icsys.dataset.definitions import age_on, emergency_admission, maternity_admission
from icsys.population.multimorbidity import cambridge_multimorbidity

EFI_DEFICITS = 36
POLYPHARMACY = "polypharmacy"
POLYPHARMACY_MEDICINES = 5
LOOKBACK_YEAR = timedelta(days=365)
EFI_FROM_AGE = 65  # Clegg 2016: the eFI is for people aged 65 and over
REGISTRATION_TABLE = "gp_registration"


def basics(backend: Any, as_of: date, keep: Callable[[str, ir.Table], ir.Table] | None = None) -> dict[str, ir.Table]:
    """What person measures and the risk model both start from: the registered people and their eFI,
    LTC count, Cambridge score and register conditions. `stratify` passes `keep(name, table)`, which stores
    each part once (the registered people and who is on which register first, as the others are built on
    them), so that nothing is worked out twice."""
    keep = keep or (lambda _name, table: table)
    events, medication = backend.table("clinical_event"), backend.table("medication")
    people = keep("people", registered(backend, as_of))
    on = keep("registers", on_registers(people, events, as_of))
    return {"people": people, "frailty": keep("frailty", efi(people, events, medication, as_of, from_age=EFI_FROM_AGE)),
            "ltc": keep("ltc", long_term_conditions(people, events, as_of, on)),
            "cms": keep("cms", cambridge_multimorbidity(people, events, medication, as_of)),
            "conditions": keep("conditions", condition_flags(people, events, as_of, on))}


def registrations(backend: Any) -> ir.Table:
    """person_id, practice_code, registration_start, registration_end: every registration of the store's
    history (gp_registration), or the person table's latest registration where the store has no history."""
    person = backend.table("person")
    columns = ("person_id", "practice_code", "registration_start", "registration_end")
    # registrations with practices outside the ICS are not in its denominators (marked on load, docs/adr/010;
    # unmarked, as in a synthetic store, counts as the ICS's)
    if REGISTRATION_TABLE in backend.list_tables():
        history = backend.table(REGISTRATION_TABLE)
        if int(history.limit(1).count().execute()):
            if "practice_in_ics" in history.columns:
                history = history.filter(history.practice_in_ics.fill_null(True))
            return history.select(*columns)
    if "in_ics_population" in person.columns:
        person = person.filter(person.in_ics_population.fill_null(True))
    return person.select(*columns)


def registered(backend: Any, as_of: date) -> ir.Table:
    """The person table's rows of the people alive and registered on `as_of`, with the practice, start and end
    of the registration in force that day (the latest begun, should two overlap)."""
    day = ibis.literal(as_of)
    person = backend.table("person")
    regs = registrations(backend)
    in_force = regs.filter(regs.registration_start.isnull() | (regs.registration_start <= day),
                           regs.registration_end.isnull() | (regs.registration_end > day))
    in_force = in_force.mutate(_order=ibis.row_number().over(group_by="person_id",
                                                             order_by=ibis.desc("registration_start")))
    in_force = in_force.filter(in_force._order == 0).drop("_order")
    alive = person.filter(person.death_date.isnull() | (person.death_date > day))
    joined = alive.drop("practice_code", "registration_start", "registration_end").join(in_force, "person_id")
    return joined.select(*person.columns)


def _codes(name: str, skip_prefix: str = "medication:") -> ir.Table:
    rows = [(group, code) for group, codes in codelists(name).items() for code in codes
            if not code.startswith(skip_prefix)]
    return ibis.memtable({"group": [g for g, _ in rows], "code": [c for _, c in rows]})


def _coded(events: ir.Table, as_of: date, codelist: str) -> ir.Table:
    """(person_id, group) for every group of `codelist` a person has a code for on or before as_of."""
    codes = _codes(codelist)
    recorded = events.filter(events.event_date <= ibis.literal(as_of))
    joined = recorded.join(codes, recorded.snomed_code == codes.code)
    return joined.select("person_id", "group").distinct()


def efi(people: ir.Table, events: ir.Table, medication: ir.Table, as_of: date,
        from_age: int | None = None) -> ir.Table:
    """person_id, efi_deficits, efi_score, efi_category for each person in `people`; with `from_age`, people
    younger than it on as_of (whole years) have none (person measures use EFI_FROM_AGE, the eFI's own rule)."""
    coded = _coded(events, as_of, "efi_deficits")
    year = medication.filter(medication.issue_date <= ibis.literal(as_of),
                             medication.issue_date > ibis.literal(as_of - LOOKBACK_YEAR))
    poly = (year.group_by("person_id").aggregate(medicines=year.dmd_code.nunique())
            .filter(lambda t: t.medicines >= POLYPHARMACY_MEDICINES)
            .select("person_id", group=ibis.literal(POLYPHARMACY)))
    deficits = coded.union(poly).group_by("person_id").aggregate(efi_deficits=lambda t: t.group.nunique())
    out = people.select("person_id", "birth_date").left_join(deficits, "person_id")
    scored = ibis.literal(True) if from_age is None else age_on(out.birth_date, as_of) >= from_age
    out = out.select("person_id", efi_deficits=ibis.cases((scored, out.efi_deficits.fill_null(0)),
                                                          else_=ibis.null("int64")))
    return out.mutate(efi_score=out.efi_deficits / EFI_DEFICITS,
                      efi_category=ibis.cases((out.efi_deficits.isnull(), ibis.null("string")),
                                              else_=efi_category(out.efi_deficits)))


def efi_category(deficits: ir.IntegerValue) -> ir.StringValue:
    return (ibis.cases((deficits >= 13, "severe"), (deficits >= 9, "moderate"), (deficits >= 5, "mild"),
                       else_="fit"))


def on_registers(people: ir.Table, events: ir.Table, as_of: date) -> ir.Table:
    """(person_id, condition) for each QOF register a person is on on as_of: of the register's age (whole
    years), a diagnosis code by as_of (on or after the register's first date, if it has one), and no resolved
    code after the latest diagnosis (a resolved code on the same day as a diagnosis does not remove it)."""
    from icsys.population.register_rules import definitions

    rules = definitions()
    rows = [(c, code, "diagnosis") for c in rules for code in codelists("conditions")[c]]
    rows += [(c, code, "resolved") for c, rule in rules.items() for code in rule.resolved]
    codes = ibis.memtable({"condition": [r[0] for r in rows], "code": [r[1] for r in rows],
                           "kind": [r[2] for r in rows]})
    ages = ibis.memtable({"condition": list(rules), "min_age": [r.min_age for r in rules.values()],
                          "first_date": [r.diagnosed_from for r in rules.values()]},
                         schema={"condition": "string", "min_age": "int64", "first_date": "date"})
    recorded = events.filter(events.event_date <= ibis.literal(as_of))
    coded = recorded.join(codes, recorded.snomed_code == codes.code).join(ages, "condition")
    counted = coded.filter((coded.kind == "resolved") | coded.first_date.isnull()
                           | (coded.event_date >= coded.first_date))
    latest = counted.group_by(["person_id", "condition", "min_age"]).aggregate(
        diagnosed=ibis.cases((counted.kind == "diagnosis", counted.event_date), else_=None).max(),
        resolved=ibis.cases((counted.kind == "resolved", counted.event_date), else_=None).max())
    latest = latest.join(people.select("person_id", "birth_date"), "person_id")
    return latest.filter(latest.diagnosed.notnull(),
                         latest.resolved.isnull() | (latest.resolved <= latest.diagnosed),
                         age_on(latest.birth_date, as_of) >= latest.min_age).select("person_id", "condition")


def long_term_conditions(people: ir.Table, events: ir.Table, as_of: date, on: ir.Table | None = None) -> ir.Table:
    """person_id, ltc_count: how many QOF registers (registers.toml) a person is on on as_of (`on`:
    on_registers(), if already worked out)."""
    on = on_registers(people, events, as_of) if on is None else on
    counts = on.group_by("person_id").aggregate(ltc_count=lambda t: t.condition.nunique())
    return people.select("person_id").left_join(counts, "person_id").select(
        "person_id", ltc_count=lambda t: t.ltc_count.fill_null(0))


def condition_flags(people: ir.Table, events: ir.Table, as_of: date, on: ir.Table | None = None) -> ir.Table:
    """One 0/1 column per QOF register (codes/conditions.csv, rules of registers.toml): on it on as_of (`on`:
    on_registers(), if already worked out)."""
    on = on_registers(people, events, as_of) if on is None else on
    out = people.select("person_id")
    for name in codelists("conditions"):
        who = on.filter(on.condition == name).select("person_id")
        out = out.mutate(**{f"has_{name}": out.person_id.isin(who.person_id).cast("int8")})
    return out


def case_finding(people: ir.Table, events: ir.Table, medication: ir.Table, ltc: ir.Table,
                 as_of: date) -> ir.Table:
    """Flags for people whose record suggests an unmet need, each with the reason in words."""
    day = ibis.literal(as_of)
    year_ago = ibis.literal(as_of - LOOKBACK_YEAR)
    two_years_ago = ibis.literal(as_of - 2 * LOOKBACK_YEAR)
    conditions = codelists("conditions")
    observations = codelists("observations")
    dementia_drugs = codelists("medications")["dementia"]

    def has_code(codes: list[str], since: Any = None) -> ir.Table:
        rows = events.filter(events.snomed_code.isin(codes), events.event_date <= day)
        if since is not None:
            rows = rows.filter(rows.event_date > since)
        return rows.select("person_id").distinct()

    on_dementia_drug = medication.filter(medication.dmd_code.isin(dementia_drugs), medication.issue_date <= day,
                                         medication.issue_date > year_ago).select("person_id").distinct()
    bp = events.filter(events.event_date <= day, events.event_date > two_years_ago,
                       ((events.snomed_code == observations["systolic_bp"][0]) & (events.value >= 140))
                       | ((events.snomed_code == observations["diastolic_bp"][0]) & (events.value >= 90)))
    raised = (bp.group_by("person_id").aggregate(days=bp.event_date.nunique())
              .filter(lambda t: t.days >= 2).select("person_id"))
    flags = {
        "flag_dementia_medication_no_diagnosis": (
            _member(people, on_dementia_drug) & ~_member(people, has_code(conditions["dementia"])),
            "on dementia medication in the last year with no dementia diagnosis"),
        "flag_raised_bp_no_hypertension": (
            _member(people, raised) & ~_member(people, has_code(conditions["hypertension"])),
            "raised blood pressure (140/90 or more) on 2+ days in 2 years with no hypertension diagnosis"),
        "flag_ltc3_no_review": (
            _member(people, ltc.filter(ltc.ltc_count >= 3).select("person_id"))
            & ~_member(people, has_code(observations["ltc_review"], year_ago)),
            "3 or more long-term conditions and no review in the last year"),
        "flag_ld_no_health_check": (
            _member(people, has_code(conditions["learning_disability"]))
            & ~_member(people, has_code(observations["ld_health_check"], year_ago)),
            "learning disability register and no annual health check in the last year"),
        "flag_smi_no_health_check": (
            _member(people, has_code(conditions["smi"]))
            & ~_member(people, has_code(observations["smi_health_check"], year_ago)),
            "severe mental illness register and no physical health check in the last year"),
    }
    out = people.select("person_id").mutate(**{name: cond for name, (cond, _) in flags.items()})
    reasons = [ibis.cases((out[name], reason), else_=None) for name, (_, reason) in flags.items()]
    # Engines differ on joining an empty array (DuckDB gives "", Spark NULL): no reasons is "" on both.
    joined = ibis.array(reasons).filter(lambda r: r.notnull()).join("; ")
    return out.mutate(case_finding_reasons=joined.fill_null(""))


def _member(people: ir.Table, subset: ir.Table) -> ir.BooleanValue:
    return people.person_id.isin(subset.person_id)


# Bridges to Health (Lynn et al., Milbank Q 2007;85:185-208) segments, highest precedence first. Each
# person gets the first segment whose rule holds; the rules use only what is recorded by as_of.
SEGMENTS = (
    ("failing_health", "severe frailty with cancer, heart failure or COPD"),
    ("long_decline", "severe frailty or dementia: a long period of decline"),
    ("limited_reserve", "heart failure, COPD or CKD with an emergency admission in the last year"),
    ("stable_serious_disability", "learning disability, severe mental illness or stroke"),
    ("maternal_infant", "under 1 year old, or a maternity admission in the last year"),
    ("chronic_conditions", "one or more long-term conditions"),
    ("acutely_ill", "an emergency admission in the last year and no long-term condition"),
    ("healthy", "none of the above"),
)


def segments(people: ir.Table, events: ir.Table, spells: ir.Table, frailty: ir.Table, ltc: ir.Table,
             as_of: date) -> ir.Table:
    """person_id, segment: one Bridges to Health segment per person, by the precedence of SEGMENTS."""
    day = ibis.literal(as_of)
    year_ago = ibis.literal(as_of - LOOKBACK_YEAR)
    conditions = codelists("conditions")

    def coded(*names: str) -> ir.BooleanValue:
        codes = [code for name in names for code in conditions[name]]
        who = events.filter(events.snomed_code.isin(codes), events.event_date <= day).select("person_id")
        return t.person_id.isin(who.person_id)

    recent = spells.filter(spells.admission_time.date() <= day, spells.admission_time.date() > year_ago)
    emergency = recent.filter(emergency_admission(recent.admission_method)).select("person_id")
    maternity = recent.filter(maternity_admission(recent.admission_method)).select("person_id")
    t = people.select("person_id", "birth_date").join(frailty.select("person_id", "efi_category"), "person_id").join(
        ltc, "person_id")
    severe = t.efi_category == "severe"
    admitted = t.person_id.isin(emergency.person_id)
    rules = [
        severe & coded("cancer", "heart_failure", "copd"),
        severe | coded("dementia"),
        coded("heart_failure", "copd", "ckd") & admitted,
        coded("learning_disability", "smi", "stroke"),
        (t.birth_date > ibis.literal(as_of - LOOKBACK_YEAR)) | t.person_id.isin(maternity.person_id),
        t.ltc_count >= 1,
        admitted,
    ]
    segment = ibis.cases(*[(rule, name) for rule, (name, _) in zip(rules, SEGMENTS, strict=False)],
                         else_=SEGMENTS[-1][0])
    return t.select("person_id", segment=segment)
