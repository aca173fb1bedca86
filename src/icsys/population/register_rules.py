"""The QOF register rules (registers.toml): each register's age rule, resolved codes, first date of a
diagnosis and reference prevalence. Apart from `registers`, so that the measures built on the rules import
neither pandas nor scipy with them."""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from icsys.codes import codelists

if TYPE_CHECKING:
    import pandas as pd

DEFINITION = Path(__file__).with_name("registers.toml")


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")
    condition: str
    min_age: int = 0
    resolved: list[str] = []  # SNOMED codes that end the register entry when later than the latest diagnosis
    diagnosed_from: date | None = None  # a diagnosis counts from this day (QOF: depression 2006, cancer 2003)
    reference: Literal["ics", "published"] = "ics"
    source: str = ""
    rates: dict[Literal["F", "M"], dict[int, float]] = {}

    @model_validator(mode="after")
    def _published_has_rates(self) -> Register:
        if self.reference == "published" and set(self.rates) != {"F", "M"}:
            raise ValueError(f"register {self.condition}: a published reference needs rates for F and M")
        if self.condition not in codelists("conditions"):
            raise ValueError(f"register {self.condition}: no such codelist in codes/conditions.csv")
        return self

    def published_rate(self, sex: pd.Series, band: pd.Series) -> np.ndarray:
        """Published prevalence (a proportion) for each (sex, lowest age of band) row."""
        out = np.zeros(len(sex))
        for s, table in self.rates.items():
            starts = sorted(table)
            for i, start in enumerate(starts):
                end = starts[i + 1] if i + 1 < len(starts) else 200
                mask = (sex.to_numpy() == s) & (band.to_numpy() >= start) & (band.to_numpy() < end)
                out[mask] = table[start] / 100
        return out


class Registers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[Register] = Field(alias="register")


@cache
def definitions() -> dict[str, Register]:
    parsed = Registers.model_validate(tomllib.loads(DEFINITION.read_text(encoding="utf-8")))
    return {r.condition: r for r in parsed.entries}
