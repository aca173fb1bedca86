"""The catalogue of NHS standards, as data (standards.toml) validated by a pydantic schema.

Each standard names the rule the measure engine runs and its parameters; a rule or parameter that
does not exist, a threshold whose dates are out of order or a duplicate id is refused with the file
and the entry named.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from icsys.errors import InputError

DEFAULT_CATALOGUE = Path(__file__).with_name("standards.toml")

Unit = Literal["%", "minutes", "days", "patients", "bed-days", "per 1,000 a year"]
# value = MULTIPLIER[unit] x numerator / denominator (a count when there is no denominator)
MULTIPLIER: dict[str, float] = {"%": 100.0, "minutes": 1.0, "days": 1.0, "patients": 1.0, "bed-days": 1.0,
                                "per 1,000 a year": 1000.0}


# What a threshold is, as the NHS sets them: a right or pledge of the NHS Constitution (its Handbook lists
# the waiting-time standards); a national standard NHS England sets outside the Constitution (cancer faster
# diagnosis, mental health access standards, the Ambulance Response Programme); a target of one year's
# operational planning guidance (held to that year); a requirement of the NHS Standard Contract; a
# professional body's recommendation (not a standard: shown for comparison only).
Kind = Literal["constitutional", "national", "operational", "contractual", "professional"]
KIND_WORDS: dict[str, str] = {
    "constitutional": "constitutional standard", "national": "national standard",
    "operational": "operational planning target", "contractual": "contractual requirement",
    "professional": "professional recommendation"}


class CatalogueError(InputError):
    """A catalogue of standards that cannot be used, naming the file and the entry."""


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    value: float
    start: date = Field(alias="from", description="First day the threshold applies")
    end: date | None = Field(default=None, alias="to", description="Last day it applies; open if empty")
    kind: Kind
    year: str | None = Field(default=None, pattern=r"^\d{4}/\d{2}$",
                             description="The planning year of an operational target, e.g. 2025/26")
    source: str = Field(min_length=1, description="The document that sets the threshold")
    basis: str = Field(min_length=1, description="What the source says, in words")
    checked: str | None = Field(default=None, min_length=1,
                                description="Where the figure was checked against its source's words (a seed or "
                                            "reference file and section)")
    provisional: bool = Field(default=False, description="The source is named but its text was not at hand to "
                                                         "check the figure against")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Threshold:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"threshold {self.value}: 'to' {self.end} is before 'from' {self.start}")
        if self.kind == "operational" and self.year is None:
            raise ValueError(f"threshold {self.value}: an operational planning target needs its 'year' (e.g. 2025/26)")
        if self.provisional and self.checked:
            raise ValueError(f"threshold {self.value}: either checked ({self.checked!r}) or provisional, not both")
        return self

    @property
    def kind_in_words(self) -> str:
        return KIND_WORDS[self.kind] + (f" {self.year}" if self.year else "")

    @property
    def checked_in_words(self) -> str:
        """How far the figure is known: checked against a named text, or provisional."""
        if self.checked:
            return f"checked against {self.checked}"
        return "provisional: not checked against its source's text" if self.provisional else ""

    def applies_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class Standard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    domain: str
    definition: str = Field(min_length=1)
    numerator: str = Field(min_length=1, description="The numerator in words")
    denominator: str = Field(min_length=1, description="The denominator in words")
    rule: str = Field(description="The measure engine's rule (icsys.performance.rules.RULES)")
    params: dict[str, Any] = Field(default_factory=dict)
    unit: Unit
    direction: Literal["higher", "lower"] = Field(description="Which way is better")
    source: str = Field(min_length=1)
    threshold: list[Threshold] = Field(default_factory=list)
    retired: date | None = Field(default=None, description="The day the measure stopped being collected or "
                                                           "set: kept for history, never shown as live")
    retired_basis: str | None = Field(default=None, min_length=1, description="Who retired it and why")

    @model_validator(mode="after")
    def _retired_with_basis(self) -> Standard:
        if (self.retired is None) != (self.retired_basis is None):
            raise ValueError("'retired' and 'retired_basis' go together: the date and who retired the measure")
        late = [t.value for t in self.threshold if self.retired and (t.end is None or t.end >= self.retired)]
        if late:
            raise ValueError(f"retired on {self.retired} but threshold(s) {late} still apply after it: give them 'to'")
        return self

    @property
    def live(self) -> bool:
        return self.retired is None

    @model_validator(mode="after")
    def _rule_and_params_exist(self) -> Standard:
        from icsys.performance.rules import RULES

        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}; rules are: {', '.join(sorted(RULES))}")
        RULES[self.rule].check_params(self.params)
        return self

    def target_on(self, day: date) -> float | None:
        """The threshold in force on `day` that was set most recently (an operational target over the
        constitutional standard it works towards), or None. A professional recommendation is never a
        target: it is shown beside the measure, not held against it."""
        in_force = [t for t in self.threshold if t.applies_on(day) and t.kind != "professional"]
        return max(in_force, key=lambda t: t.start).value if in_force else None

    def thresholds_on(self, day: date) -> list[Threshold]:
        return [t for t in self.threshold if t.applies_on(day)]


class NotMeasured(BaseModel):
    """A measure of a framework the catalogue follows that the linked dataset cannot support, and why:
    said here rather than measured from stand-in data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    missing: str = Field(min_length=1, description="What the dataset would need to hold")


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    standard: list[Standard]
    not_measured: list[NotMeasured] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_unique(self) -> Catalogue:
        twice = [i for i, n in Counter(s.id for s in self.standard).items() if n > 1]
        if twice:
            raise ValueError(f"standard id(s) appear more than once: {', '.join(twice)}")
        return self

    def get(self, standard_id: str) -> Standard:
        for s in self.standard:
            if s.id == standard_id:
                return s
        raise CatalogueError(f"unknown standard {standard_id!r}; standards are: "
                             f"{', '.join(s.id for s in self.standard)}")

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.standard]

    @property
    def live(self) -> list[Standard]:
        """The standards still collected or set (the retired ones are kept for history only)."""
        return [s for s in self.standard if s.live]

    def lines(self) -> list[str]:
        """Each standard with its thresholds: value, dates, kind (and planning year) and source."""
        lines = []
        for s in self.standard:
            better = "higher is better" if s.direction == "higher" else "lower is better"
            lines.append(f"{s.id}  {s.name}  [{s.unit}, {better}]")
            if s.retired:
                lines.append(f"    RETIRED {s.retired}: {s.retired_basis}")
            for t in s.threshold:
                dates = f"from {t.start}" + (f" to {t.end}" if t.end else "")
                unit = "" if s.unit == "%" else " "
                checked = f" [{t.checked_in_words}]" if t.checked_in_words else ""
                lines.append(f"    {t.value:g}{unit}{s.unit}  {dates}  {t.kind_in_words}: {t.basis} ({t.source})"
                             + checked)
            if not s.threshold:
                lines.append("    no threshold")
        if self.not_measured:
            lines.append("Not measured (the dataset does not hold what they need):")
            lines += [f"  {n.id}  {n.name} ({n.source}): {n.missing}" for n in self.not_measured]
        return lines


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Load and validate a catalogue of standards; the shipped one by default."""
    from icsys.datafile import load_validated

    return load_validated(Path(path) if path else DEFAULT_CATALOGUE, Catalogue, CatalogueError,
                          "catalogue of standards", "standard")
