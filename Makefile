# The series' two commands: `make figures` and `make test`; `make lab` opens the notebooks.
# VENV can point elsewhere (CI keeps it under ~/.cache): make test VENV=/path/to/venv

VENV ?= .venv
PYTHON := $(VENV)/bin/python
REQUIREMENTS_HASH := $(shell python3 -c "import hashlib; \
	print(hashlib.sha256(open('requirements.txt', 'rb').read()).hexdigest()[:12])")
INSTALLED := $(VENV)/.installed-$(REQUIREMENTS_HASH)

.PHONY: install figures test lab bench site student clean

$(INSTALLED):
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -r requirements.txt
	touch $@

# The helpers package, installed editable from this checkout (re-pointed if the venv served another).
install: $(INSTALLED)
	@(cd / && $(abspath $(PYTHON)) -c "import helpers, pathlib, sys; \
	sys.exit(pathlib.Path(helpers.__file__).resolve().parents[1] != pathlib.Path('$(CURDIR)').resolve())") \
	2>/dev/null || $(PYTHON) -m pip install -q --no-deps --no-build-isolation -e .

figures: install
	$(PYTHON) -m helpers.run --profile full

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest

# The website of the executed lessons, from artifacts/$(SITE_PROFILE)/executed/ (nothing is executed):
# open artifacts/site/$(SITE_PROFILE)/html/index.html. After a smoke run: make site SITE_PROFILE=smoke
SITE_PROFILE ?= full
site: install
	$(PYTHON) -m helpers.site --profile $(SITE_PROFILE)

# The hand-out for students in artifacts/student/: student editions (no solutions), helpers, data, README
student: install
	$(PYTHON) -m helpers.student

# Adds --allow-root when run as root (containers); extra options: make lab LAB_ARGS="--port 8890"
lab: install
	$(PYTHON) -m helpers.lab $(LAB_ARGS)

bench: install
	$(PYTHON) -m helpers.bench som

clean:
	rm -rf artifacts/
