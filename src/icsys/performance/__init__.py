"""Performance against the NHS standards: catalogue, measures, SPC, trajectories, escalation (the board pack is
in icsys.reports)."""
