# Two entry points (see README): `make run` and `make test`. Both bootstrap .venv on a bare machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PEERS  := .cache/peers.installed

.PHONY: run test bench mutation clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/bootstrap.sh
	touch $(STAMP)

$(PEERS): scripts/test-peers.sh | $(STAMP)
	PY=$(PY) sh scripts/test-peers.sh
	touch $(PEERS)

run: $(STAMP)
	$(VENV)/bin/mmsc serve

test: $(STAMP) $(PEERS)
	sh scripts/test-browser.sh >/dev/null
	sh scripts/test-postgres.sh >/dev/null
	$(PY) -m pytest -q

# Mutation testing (scripts/mutation.py; scores and survivors in docs/testing.md). Slow, so not
# part of `make test`; niced, one module at a time. `make mutation MODULES="sms wsp"` for some,
# `make mutation MODULES=pdu SAMPLE=400` for a random sample of 400 of its mutants (fixed seed).
mutation: $(STAMP)
	nice -n 19 $(PY) scripts/mutation.py $(if $(SAMPLE),--sample $(SAMPLE)) $(MODULES)

bench: $(STAMP)
	$(PY) bench/codec.py
	$(PY) bench/smpp.py
	$(PY) bench/store.py
	$(PY) bench/durable.py
	$(PY) bench/handoff.py
	$(PY) bench/loop.py
	$(PY) bench/loop.py 300 1
	$(PY) bench/mm7.py
	$(PY) bench/retrieve.py
	$(PY) bench/backlog.py
	$(PY) bench/metrics.py
	$(PY) bench/mm4.py
	$(PY) bench/adapt.py
	$(PY) bench/scale.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .hypothesis
