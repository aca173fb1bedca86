"""Read a system definition from TOML and validate it against the model."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from icsys.datafile import load_validated
from icsys.errors import InputError
from icsys.system.model import System

DEFAULT_SYSTEM = Path(__file__).with_name("kent_and_medway.toml")


class SystemDefinitionError(InputError):
    """A system definition that cannot be used, with every problem named."""


def load_system(path: Path | str | None = None) -> System:
    """Load and validate a system definition; the shipped Kent and Medway one by default."""
    return _load(Path(path) if path else DEFAULT_SYSTEM)


@lru_cache(maxsize=8)
def _load(path: Path) -> System:
    return load_validated(path, System, SystemDefinitionError, "system definition", "practice")
