# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ICSYS := $(VENV)/bin/icsys
DEMO_DB := data/demo.duckdb
DEMO_SCALE ?= 0.01

.PHONY: demo test lint dictionary lock bench clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	touch $@

demo: $(VENV)/.installed
	@mkdir -p data out
	$(ICSYS) synth --scale $(DEMO_SCALE) --years 3 --seed 42 --db $(DEMO_DB)
	$(ICSYS) info --db $(DEMO_DB)
	$(ICSYS) export --db $(DEMO_DB) --table inpatient_spell --out out/inpatient_spell.parquet
	$(ICSYS) population stratify --db $(DEMO_DB) --as-of 2026-03-31
	$(ICSYS) population model-card --db $(DEMO_DB) --out out/risk_model_card.md
	$(ICSYS) population registers --db $(DEMO_DB) --level icp --condition dementia --condition hypertension
	$(ICSYS) population registers --db $(DEMO_DB) --level practice --for-sharing --out out/registers_by_practice.csv
	$(ICSYS) population inequalities --db $(DEMO_DB) --measure activity:emergency_admissions --by imd_quintile
	$(ICSYS) population cohort frail_two_emergency_admissions --db $(DEMO_DB) --as-of 2026-03-31 --out out/frail_mdt.xlsx
	$(ICSYS) population cohort top_risk_not_known_to_community --db $(DEMO_DB) --as-of 2026-03-31 --out out/top_risk_mdt.xlsx
	$(ICSYS) population cohort making_a_difference_each_week --db $(DEMO_DB) --as-of 2026-03-31 --out out/making_a_difference.csv
	@echo
	@echo "The synthetic Kent and Medway is in $(DEMO_DB) (DuckDB)."
	@echo "  summary:          $(ICSYS) info --db $(DEMO_DB) --json"
	@echo "  query it:         $(PY) -c \"import duckdb; print(duckdb.connect('$(DEMO_DB)', read_only=True).sql('FROM person LIMIT 5'))\""
	@echo "  an export:        out/inpatient_spell.parquet"
	@echo "  person measures:  table person_measures in the store (eFI, LTCs, Cambridge score, segment, risk, case finding)"
	@echo "  risk model card:  out/risk_model_card.md"
	@echo "  registers:        out/registers_by_practice.csv (observed / expected, for sharing)"
	@echo "  MDT lists:        out/frail_mdt.xlsx, out/top_risk_mdt.xlsx, out/making_a_difference.csv"
	@echo "  data dictionary:  docs/data-dictionary.md"

test: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest

dictionary: $(VENV)/.installed
	$(ICSYS) dictionary --out docs/data-dictionary.md

lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

bench: $(VENV)/.installed
	$(PY) benchmarks/synth_full.py
	$(PY) benchmarks/load_csv.py

clean:
	rm -rf $(VENV) data out .pytest_cache .ruff_cache
