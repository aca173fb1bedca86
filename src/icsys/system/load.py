"""Read a system definition from TOML and validate it against the model."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SystemDefinitionError(f"{path}: no such system definition file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SystemDefinitionError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return System.model_validate(data)
    except ValidationError as exc:
        raise SystemDefinitionError(f"{path}: invalid system definition:\n{_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)
