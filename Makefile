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
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.lock
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
	$(ICSYS) performance measure --db $(DEMO_DB) --org QKS --standard ae_4h --standard rtt_18w --standard bed_occupancy --from 2025-10-01
	$(ICSYS) performance escalation --db $(DEMO_DB) --from 2026-01-01 --to 2026-03-31
	$(ICSYS) report board --db $(DEMO_DB) --org QKS --month 2026-03 --out-dir out --quiet
	$(ICSYS) flow calibrate --db $(DEMO_DB) --out out/demo_scenario.toml
	$(ICSYS) flow compare kent_and_medway_winter kent_and_medway_interventions --replications 20 --seed 1 --quiet
	rm -f data/care.sqlite data/care.sqlite-wal data/care.sqlite-shm data/care.audit.sqlite data/care.reid.sqlite data/care.demo.toml
	$(ICSYS) care demo --db data/care.sqlite > out/care_demo.json
	@echo
	@echo "The synthetic Kent and Medway is in $(DEMO_DB) (DuckDB)."
	@echo "  summary:          $(ICSYS) info --db $(DEMO_DB) --json"
	@echo "  query it:         $(PY) -c \"import duckdb; print(duckdb.connect('$(DEMO_DB)', read_only=True).sql('FROM person LIMIT 5'))\""
	@echo "  an export:        out/inpatient_spell.parquet"
	@echo "  person measures:  table person_measures in the store (eFI, LTCs, Cambridge score, segment, risk, case finding)"
	@echo "  risk model card:  out/risk_model_card.md"
	@echo "  registers:        out/registers_by_practice.csv (observed / expected, for sharing)"
	@echo "  MDT lists:        out/frail_mdt.xlsx, out/top_risk_mdt.xlsx, out/making_a_difference.csv"
	@echo "  board pack:       out/board-QKS-2026-03.html and .pdf"
	@echo "  flow model:       out/demo_scenario.toml, fitted to the demo store (report of fit beside it)"
	@echo "  data dictionary:  docs/data-dictionary.md"
	@echo "  care pages:       SPoA queue (sam.spoa), tasks (will.social), MDT case lists from $(DEMO_DB) (mo.mdt), audit (priya.privacy)"
	@echo "  care service:     $(ICSYS) serve --db data/care.sqlite  then http://127.0.0.1:8000/ as sam.spoa / care-demo-2026"

test: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

dictionary: $(VENV)/.installed
	$(ICSYS) dictionary --out docs/data-dictionary.md

lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

# The figures of the README, on a full-scale store built first (about 20 minutes in all).
FULL_DB := data/km_full.duckdb
bench: $(VENV)/.installed
	@mkdir -p data
	$(PY) benchmarks/synth_full.py --db $(FULL_DB)
	$(PY) benchmarks/load_csv.py
	$(PY) benchmarks/stratify_full.py --db $(FULL_DB)
	$(PY) benchmarks/cohort_full.py --db $(FULL_DB)
	$(PY) benchmarks/performance_full.py --db $(FULL_DB)
	$(PY) benchmarks/board_pack.py --db $(FULL_DB)
	$(PY) benchmarks/flow_engine.py
	$(PY) benchmarks/flow_year.py

clean:
	rm -rf $(VENV) data out .pytest_cache .ruff_cache
