# Two commands for an operator: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_RUNTIME := libzbar0 mosquitto
APT_TEST := chromium libatomic1 faketime mosquitto-clients postgresql
APT_BENCH := valgrind
# Test processes, one per core by default; TEST_JOBS=1 runs the suite in one process, in file order.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PARALLEL = $(if $(filter 1,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)
DEMO_PORT ?= 8080
DEMO_DB ?= var/demo.db

.PHONY: demo test test-shifted check-install check-install-province bench bench-decode bench-live bench-latency bench-hub bench-roster bench-province bench-reports bench-pg bench-province-ingest bench-province-day system-deps test-system-deps frames translations clean help

help:
	@echo "make demo    set up and run a kiosk on the bundled replay frames, with a local broker and district hub"
	@echo "make test    set up and run the test suite"
	@echo "make bench   run the benchmarks (JSON on stdout)"

system-deps:
	@provision/apt-deps.sh $(APT_RUNTIME)

test-system-deps:
	@provision/apt-deps.sh $(APT_RUNTIME) $(APT_TEST)

$(BIN)/python:
	$(PYTHON) -m venv --system-site-packages $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

DEMO_STAFF ?= Giám sát demo
DEMO_VACCINATOR ?= Tiêm chủng demo
DEMO_PIN ?= 2580

demo: system-deps $(VENV)/.installed
	@mkdir -p var
	@$(BIN)/kiosk --log-level WARNING staff list --db $(DEMO_DB) | grep -q "$(DEMO_STAFF)" || \
	  printf '%s\n' "$(DEMO_PIN)" | $(BIN)/kiosk --log-level WARNING staff add "$(DEMO_STAFF)" --role supervisor --pin-stdin --db $(DEMO_DB)
	@$(BIN)/kiosk --log-level WARNING staff list --db $(DEMO_DB) | grep -q "$(DEMO_VACCINATOR)" || \
	  printf '%s\n' "$(DEMO_PIN)" | $(BIN)/kiosk --log-level WARNING staff add "$(DEMO_VACCINATOR)" --role vaccinator --pin-stdin --db $(DEMO_DB)
	@echo "supervisor screen: http://127.0.0.1:$(DEMO_PORT)/supervisor/  (sign in as '$(DEMO_STAFF)', PIN $(DEMO_PIN))"
	BIN=$(BIN) DEMO_PORT=$(DEMO_PORT) DEMO_DB=$(DEMO_DB) provision/demo.sh

# After the suite, its quick part again with every process's clock at another date and time zone (tests/shifted):
# a test that passes only on the day it was written fails here on any day. Both spread their test files over
# TEST_JOBS processes (pytest-xdist; a file's tests stay together, in order, in one process).
test: test-system-deps $(VENV)/.installed
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)
	$(BIN)/python -m tests.shifted --quick -q -p no:cacheprovider $(PARALLEL)

# The whole suite at another date and time zone: make test-shifted SHIFTED_DATE="2027-07-15 03:00:00" SHIFTED_TZ=Asia/Tokyo
SHIFTED_DATE ?= 2031-01-01 09:00:00
SHIFTED_TZ ?= America/Sao_Paulo
test-shifted: test-system-deps $(VENV)/.installed
	$(BIN)/python -m tests.shifted --date "$(SHIFTED_DATE)" --tz "$(SHIFTED_TZ)" $(PYTEST_ARGS)

# provision/install-kiosk.sh on a fresh Debian 12 in a chroot (as root; minutes; downloads; not part of `make test`):
# CHROOT=/var/tmp/kiosk-check-install by default, reused on the next run. See docs/production.md.
check-install:
	provision/check-install.sh

# provision/install-province.sh on a fresh Debian 12 booted with systemd (systemd-nspawn), district d1 joining and a
# dose bridged through it (as root; minutes; downloads; ports 5432, 1883, 8883 and 8443 free). See docs/province.md.
check-install-province: $(VENV)/.installed
	provision/check-install-province.sh

bench: bench-decode bench-live bench-latency bench-hub bench-roster bench-province bench-reports bench-pg bench-province-ingest bench-province-day

bench-decode: system-deps $(VENV)/.installed
	@$(BIN)/python bench/decode.py

# The live scanner loop (issue 14): cards held still under the replayed camera, and callgrind's instructions per idle frame.
bench-live: system-deps $(VENV)/.installed
	@provision/apt-deps.sh $(APT_BENCH)
	@$(BIN)/python bench/live.py --callgrind

bench-latency: system-deps $(VENV)/.installed
	@$(BIN)/python bench/latency.py --all-in-one

bench-hub: system-deps $(VENV)/.installed
	@$(BIN)/python bench/hub.py

# The roster import (issue 12's target: 1,000,000 rows at 20,000 rows/s or more); ROSTER_ROWS=200000 for a shorter run.
ROSTER_ROWS ?= 1000000
bench-roster: $(VENV)/.installed
	@$(BIN)/python -m bench.roster --rows $(ROSTER_ROWS)

# Coverage at a province's scale (issue 12's target: `hub coverage` and /coverage p95 <= 300 ms with 1,000,000 people on
# the roster and 2,500,000 doses); PROVINCE_PEOPLE=200000 PROVINCE_DOSES=500000 for a shorter run.
PROVINCE_PEOPLE ?= 1000000
PROVINCE_DOSES ?= 2500000
bench-province: $(VENV)/.installed
	@$(BIN)/python -m bench.province --people $(PROVINCE_PEOPLE) --doses $(PROVINCE_DOSES)

# The district's reports at a province's scale (issue 13's targets: one day's report and one day's export in 2 s or less,
# the front page p95 <= 300 ms while ingest runs; 1,000,000 people, 2,500,000 doses, 300 sites, 60 days).
bench-reports: $(VENV)/.installed
	@$(BIN)/python -m bench.reports --people $(PROVINCE_PEOPLE) --doses $(PROVINCE_DOSES)

# The merge's commit on PostgreSQL with 1 and 2 workers against SQLite in the same run (issue 15); a cluster of its own.
bench-pg: test-system-deps $(VENV)/.installed
	@$(BIN)/python -m bench.pg_commit

# The province workers' merge over MQTT: PostgreSQL with 1 and 2 workers against the SQLite hub and raw paho (issue 15).
bench-province-ingest: test-system-deps $(VENV)/.installed
	$(BIN)/python -m bench.province_ingest

# A province's campaign day (bench/province_sim.py): 30 bridged districts, 1,000 kiosks, 10x the national peak, with
# outages; about 15 minutes. PROVINCE_DAY_ARGS="--districts 3 --kiosks 30 --seconds 60" for a smaller one.
bench-province-day: test-system-deps $(VENV)/.installed
	$(BIN)/python -m bench.province_sim $(PROVINCE_DAY_ARGS)

frames: $(VENV)/.installed
	$(BIN)/python -m kiosk.demo.generate

# Translations of the kiosk's staff screens (babel.cfg, kiosk/web/translations) and the hub's workspace (babel-hub.cfg,
# hub/web/translations); the workflow is spelled out in babel.cfg: after marking strings with _(), run
# `make translations`, fill in the empty msgstr of vi/LC_MESSAGES/messages.po and drop "#, fuzzy",
# then run it again to compile; commit the .pot, .po and .mo files together.
CATALOGUES := babel.cfg:kiosk/web/translations:vaxkiosk babel-hub.cfg:hub/web/translations:vaxhub
translations: $(VENV)/.installed
	for catalogue in $(CATALOGUES); do \
	  IFS=: read -r cfg dir project <<< "$$catalogue"; \
	  mkdir -p $$dir; \
	  $(BIN)/pybabel extract -F $$cfg -k lazy_gettext -k L --add-comments=TRANSLATORS: --project=$$project \
	    -o $$dir/messages.pot . || exit 1; \
	  for lang in vi en; do \
	    $(BIN)/pybabel update -i $$dir/messages.pot -d $$dir -l $$lang \
	      --init-missing --previous --ignore-pot-creation-date || exit 1; \
	  done; \
	  $(BIN)/pybabel compile --statistics -d $$dir || exit 1; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts bench/.cache
