"""`icsys population`: population health management."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icsys.cli.common import (
    SPARK_MASTER,
    AuditOption,
    DbOption,
    EngineOption,
    SparkMasterOption,
    SparkTablesOption,
    SystemOption,
    check_out,
    clear_errors,
    err,
    fail,
    json_text,
    local_auditor,
    parse_date,
    store_from_options,
)

app = typer.Typer(no_args_is_help=True, help="Population health management: frailty, multimorbidity, risk, "
                  "case finding, registers, inequalities and cohorts.")


@app.command("stratify")
def population_stratify(
    as_of: Annotated[str, typer.Option("--as-of", help="Date the measures describe (YYYY-MM-DD).")],
    retrain: Annotated[bool, typer.Option("--retrain", help="Train a new risk model first.")] = False,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
    audit: AuditOption = None,
) -> None:
    """Write person_measures: one row per registered person with eFI, LTCs, Cambridge score, segment,
    risk of emergency admission and case-finding flags."""
    from icsys.population.stratify import stratify

    day = parse_date(as_of, "--as-of")
    store = store_from_options(db, engine, spark_master, spark_tables, read_only=False)
    with clear_errors(), store:
        people = stratify(store, day, retrain=retrain, say=lambda m: err.print(m, highlight=False),
                          auditor=local_auditor(store, audit))
    err.print(f"wrote person_measures for {people:,} registered people as of {day}", highlight=False)


@app.command("train-risk")
def population_train_risk(
    train_as_of: Annotated[str | None, typer.Option("--train-as-of", help="Date the model learns from "
                                                    "(default: two years before the data ends).")] = None,
    validate_as_of: Annotated[str | None, typer.Option("--validate-as-of", help="A later date it is validated "
                                                       "on (default: a year before the data ends).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the training split.")] = 42,
    card: Annotated[Path | None, typer.Option(help="Also write the model card to .md or .json.")] = None,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
    audit: AuditOption = None,
) -> None:
    """Train the 12-month emergency admission risk model, validate it on a later year, store it with its
    model card."""
    from icsys.population import risk

    check_out(card, (".md", ".json"))
    train_day = parse_date(train_as_of, "--train-as-of") if train_as_of else None
    validate_day = parse_date(validate_as_of, "--validate-as-of") if validate_as_of else None
    store = store_from_options(db, engine, spark_master, spark_tables, read_only=False)
    with clear_errors(), store:
        trained = risk.train(store, train_day, validate_day, seed=seed, say=lambda m: err.print(m, highlight=False),
                             auditor=local_auditor(store, audit))
        if card is not None:
            _write_card(trained.card, card)
    v = trained.card["validation"]
    err.print(f"risk model {trained.card['model_id']} stored: AUROC {v['auroc']:.3f}, calibration slope "
              f"{v['calibration_slope']:.2f} on {trained.card['validate_as_of']}"
              + (f"; card written to {card}" if card else ""), highlight=False)


@app.command("model-card")
def population_model_card(
    as_json: Annotated[bool, typer.Option("--json", help="The card as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write it to .md or .json instead of the screen.")] = None,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """Show the model card of the stored risk model."""
    from icsys.population import model_card, risk

    check_out(out, (".md", ".json"))
    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store:
        trained = risk.latest(store)
        if trained is None:
            fail(f"{store.location}: no risk model yet (train one with `icsys population train-risk`)")
        if out is not None:
            _write_card(trained.card, out)
            err.print(f"wrote the model card to {out}", highlight=False)
            return
    print(json_text(trained.card) if as_json else model_card.render(trained.card))


def _write_card(card: dict, out: Path) -> None:
    from icsys.population import model_card

    text = json_text(card) if out.suffix.lower() == ".json" else model_card.render(card)
    out.write_text(text, encoding="utf-8")


@app.command("registers")
def population_registers(
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the registers (YYYY-MM-DD).")] = "2026-03-31",
    level: Annotated[str, typer.Option(help="practice, pcn, icp, district, locality or ics.")] = "practice",
    condition: Annotated[list[str] | None, typer.Option(help="Only these registers (repeatable).")] = None,
    for_sharing: Annotated[bool, typer.Option("--for-sharing", help="Suppress counts of 1-7 and round the rest "
                                              "to 5, with the figures built on them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Rows as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write to .csv or .xlsx instead of the screen.")] = None,
    system: SystemOption = None,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """Disease registers against expected prevalence: observed / expected with 95 % limits, and the gap."""
    from icsys.population.registers import DENOMINATOR, registers, registers_for_sharing
    from icsys.system import load_system

    check_out(out, (".csv", ".xlsx"))
    day = parse_date(as_of, "--as-of")
    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store:
        definition = load_system(system)
        share = registers_for_sharing if for_sharing else registers
        table = share(store, definition, day, level, condition)
        if as_json or out is not None:
            _show(table, as_json, out, "registers")
            return
        sources = table.drop_duplicates("condition").set_index("condition")["reference"]
        _show(table.drop(columns=["level", "as_of", "reference", "denominator"]), False, None, "registers",
              f"Registers by {level} as of {day}; denominator: {DENOMINATOR.format(as_of=day)}; expected from: "
              + "; ".join(f"{c}: {r}" for c, r in sources.items()))


@app.command("inequalities")
def population_inequalities(
    measure: Annotated[str, typer.Option(help="A person_measures column (yes/no or numeric), COLUMN=VALUE, or "
                                         "activity:NAME (emergency_admissions, ae_attendances, deaths, ...).")],
    by: Annotated[str, typer.Option(help="imd_quintile, ethnic_group, age_band, sex, practice, pcn, icp, "
                                    "district or locality.")] = "imd_quintile",
    crude: Annotated[bool, typer.Option("--crude", help="Crude figures, not age-standardised.")] = False,
    for_sharing: Annotated[bool, typer.Option("--for-sharing", help="Suppress counts of 1-7 and round the rest "
                                              "to 5, with the figures built on them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Rows and indices as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the rows to .csv or .xlsx.")] = None,
    system: SystemOption = None,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """A measure by deprivation, ethnicity, age, sex or place, with 95 % limits, and the slope and
    relative index of inequality across IMD quintiles."""
    import json

    from icsys.population.inequalities import inequalities, inequalities_for_sharing
    from icsys.system import load_system

    check_out(out, (".csv", ".xlsx"))
    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store:
        definition = load_system(system)
        share = inequalities_for_sharing if for_sharing else inequalities
        result = share(store, definition, measure, by, standardise=not crude)
        table = result.table
        how = "age-standardised (ESP 2013)" if result.standardised else "crude"
        title = (f"{result.measure.text} by {by}, {how}, {result.measure.unit}, as of {result.as_of}; "
                 f"denominator: {result.denominator}")
        if as_json:
            print(json_text({"measure": result.measure.text, "unit": result.measure.unit, "by": by,
                              "as_of": result.as_of.isoformat(), "denominator": result.denominator,
                              "standardised": result.standardised,
                              "rows": json.loads(table.to_json(orient="records")), "index": result.index},
                             indent=2))
            return
        _show(table, False, out, "inequalities", title)
        if result.index:
            i = result.index
            print(f"slope index of inequality (most - least deprived): {i['sii']:.3f} "
                  f"({i['sii_lower']:.3f} to {i['sii_upper']:.3f}); relative index: {i['rii']:.2f} "
                  f"({i['rii_lower']:.2f} to {i['rii_upper']:.2f})")


def _show(table, as_json: bool, out: Path | None, sheet: str, title: str = "") -> None:
    """Rows to the screen, JSON or a file."""
    if out is not None:
        if out.suffix.lower() == ".csv":
            table.to_csv(out, index=False)
        else:
            table.to_excel(out, index=False, sheet_name=sheet)
        err.print(f"wrote {len(table):,} rows to {out}", highlight=False)
    elif as_json:
        print(table.to_json(orient="records", date_format="iso", indent=2))
    else:
        if title:
            print(title)
        print(table.round(3).to_string(index=False))


@app.command("cohort")
def population_cohort(
    definition: Annotated[str, typer.Argument(help="Cohort definition: a TOML file or a shipped name "
                                              "(frail_two_emergency_admissions, making_a_difference_each_week).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date the cohort is drawn on (YYYY-MM-DD).")] = "2026-03-31",
    out: Annotated[Path | None, typer.Option(help="Write the list to .csv or .xlsx instead of the screen.")] = None,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
    audit: AuditOption = None,
) -> None:
    """List the members of a cohort with the reasons each qualifies, ready for an MDT (as your role may
    see them: pseudonymised for an analyst); the list is recorded in the audit database."""
    from icsys.population.cohort import CohortError, load_cohort, run

    day = parse_date(as_of, "--as-of")
    check_out(out, (".csv", ".xlsx"))
    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store:
        try:
            cohort = load_cohort(definition)
            found = run(store, cohort, day, auditor=local_auditor(store, audit), out=out)
        except CohortError as exc:
            fail(str(exc))
        if out is None:
            print(found.to_string(index=False) if len(found) else "(no members)")
        elif out.suffix.lower() == ".csv":
            found.to_csv(out, index=False)
        else:
            found.to_excel(out, index=False, sheet_name=cohort.name[:31])
    err.print(f"{cohort.name}: {len(found):,} member(s) as of {day}" + (f", written to {out}" if out else ""),
              highlight=False)
