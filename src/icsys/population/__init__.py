"""Population health management: measures per person (frailty, multimorbidity, case finding) built
from the linked dataset with Ibis, so the same expressions run on DuckDB and on Spark."""
