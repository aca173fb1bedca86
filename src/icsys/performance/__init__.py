"""Performance against the NHS standards: catalogue, measures, SPC, trajectories, escalation, board pack."""
