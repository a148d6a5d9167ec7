# sceneforge — the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
DATA ?= data

.PHONY: install run test lint typecheck bench demo clean

# The bytecode is brought up to date by every command, as a wheel install compiles it: an editable install
# never writes it where PYTHONDONTWRITEBYTECODE is set, and every CLI start (and every whole-process figure of
# `make bench`) would compile the changed sources again. Only changed files are compiled.
install: $(STAMP) $(NODE_STAMP)
	@$(BIN)/python -m compileall -q src

$(STAMP): pyproject.toml requirements/constraints.txt requirements/dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e . -r requirements/dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

demo: install
	$(BIN)/sceneforge generate maze --cells 100 --seed 7 -o out/maze.json
	$(BIN)/sceneforge build out/maze.json -o out --compress
	$(BIN)/sceneforge generate apartment --cells 12 --seed 3 -o out/apartment.json
	$(BIN)/sceneforge build out/apartment.json -o out

run: demo
	@echo "Built: $$(ls out/*.glb | tr '\n' ' ')(metadata beside each as .meta.json)"
	$(BIN)/sceneforge serve --data $(DATA) --demo out/maze.json --demo out/apartment.json

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider -n auto --dist loadfile
	node --test clients/js/test/

bench: install
	$(BIN)/python bench/compile.py
	$(BIN)/python bench/pvs.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/streaming.py
	$(BIN)/python bench/previews.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/incremental.py
	$(BIN)/python bench/json_parse.py
	$(BIN)/python bench/polygon.py --sizes 4096,20000 --kinds star,crossed --repeats 5
	$(BIN)/python bench/windows.py --rooms 2000 --repeats 7
	$(BIN)/python bench/footprint.py
	$(BIN)/python bench/tagged_portals.py --repeats 3
	$(BIN)/python bench/traced_floors.py --repeats 7 --stairs 200
	$(BIN)/python bench/exports.py --cells 5000 --repeats 3 --levels tests/data/levels
	$(BIN)/sceneforge generate maze --cells 1000 --seed 1 -o out/bench/maze1000.json
	$(BIN)/sceneforge build out/bench/maze1000.json -o out/bench --no-progress
	node bench/culling/bench.mjs out/bench/maze-1000-s1.meta.json --views 500 --repeats 7 --seed 1

clean:
	rm -rf $(VENV) node_modules out .pytest_cache .ruff_cache .mypy_cache
