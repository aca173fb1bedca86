"""icsys: the platform an NHS Integrated Care System runs on."""

__version__ = "0.1.0"
