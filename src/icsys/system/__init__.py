"""The ICS as configured. `load_system()` returns the shipped Kent and Medway definition."""

from icsys.system.load import DEFAULT_SYSTEM, SystemDefinitionError, load_system
from icsys.system.model import System

__all__ = ["DEFAULT_SYSTEM", "System", "SystemDefinitionError", "load_system"]
