# The two commands of the README: `make demo` runs the month-end for the demo month, `make test` the tests.
# Both set everything up first (scripts/setup.sh: system fonts/libraries, the virtualenv, pinned packages).
.PHONY: demo test test-fast lint setup bench dev

demo: setup
	.venv/bin/attain demo

# `make test` (what CI runs) checks the habits first, then runs every test; `make test-fast` leaves out the
# end-to-end tests marked `slow` (whole months, the demo, Maven, real SMTP, PostgreSQL).
test: lint
	.venv/bin/python -m pytest -n 2 --dist loadfile -q

test-fast: lint
	.venv/bin/python -m pytest -n 2 --dist loadfile -q -m "not slow"

# ruff's rules and the mypy settings are in pyproject.toml.
lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

setup:
	@bash scripts/setup.sh

bench: setup
	for b in benchmarks/*.py; do .venv/bin/python $$b || exit 1; done

dev: setup
	@home=$${DAGSTER_HOME:-$$PWD/var/dagster}; mkdir -p $$home; \
	DAGSTER_HOME=$$home .venv/bin/dagster dev -w workspace.yaml
