# ChildSafe Map: the two commands a new user needs are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_DEBUG ?= 1

.PHONY: run test bootstrap lint data bench clean-db

bootstrap:
	@bash scripts/bootstrap.sh

## run: set everything up, load the Lai Châu reference and demo data, serve on http://$(HOST):$(PORT)
run: bootstrap
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_lai_chau
	$(PY) manage.py load_agencies
	$(PY) manage.py load_checklists
	$(PY) manage.py generate_demo
	$(PY) manage.py generate_inspection_demo
	$(PY) manage.py generate_incident_demo
	$(PY) manage.py welcome --host $(HOST) --port $(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

## test: set everything up, lint, then the whole pytest suite against real PostGIS
test: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest --create-db $(PYTEST_ARGS)

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## bench: run the benchmarks under bench/ and print their results
bench: bootstrap
	$(PY) bench/run.py
