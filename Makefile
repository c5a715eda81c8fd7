# The two commands of the README: `make demo` runs the month-end for the demo month, `make test` the tests.
# Both set everything up first (scripts/setup.sh: system fonts/libraries, the virtualenv, pinned packages).
.PHONY: demo test setup bench dev

demo: setup
	.venv/bin/attain demo

test: setup
	.venv/bin/python -m pytest -n 2 --dist loadfile -q

setup:
	@bash scripts/setup.sh

bench: setup
	for b in benchmarks/*.py; do .venv/bin/python $$b || exit 1; done

dev: setup
	@home=$${DAGSTER_HOME:-$$PWD/var/dagster}; mkdir -p $$home; \
	DAGSTER_HOME=$$home .venv/bin/dagster dev -w workspace.yaml
