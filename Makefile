# The course's commands. Only `python3` (>= 3.11) and `make` are needed: the first target
# that needs the environment creates .venv and installs the pinned versions into it.
#   make lab        open the course in JupyterLab
#   make test       set-up, then every test (unit, consistency, notebooks with nbval)
#   make test-browser  each notebook run in JupyterLab in headless Chromium (Playwright)
#   make test-colab    the notebooks with nbval on Colab's library versions (.venv-colab)
#   make test-unit  unit tests of course_utils and instructor with coverage (about a minute)
#   make student    regenerate the student versions of the notebooks
#   make nbgrader   nbgrader's course folder (build/nbgrader): source notebooks, config
#   make test-nbgrader  the real nbgrader releases the student versions and autogrades
#                   three hand-ins of chapter 02 (.venv-nbgrader, about 4 min)
#   make sync       re-pair notebooks (.py -> .ipynb) and regenerate repository links
#   make links REPO=owner/name [BRANCH=main] [HUB=https://...]  point the links at a fork
#   make lint       ruff
#   make bench      the course's training against Stable-Baselines3 (about 75 min)
#   make bench-grade  the grader on a generated class and attacks (about 20 min)
#   make env-size   the students' environment's installed size, before and after slimming
#   make test-mutation  mutation testing of the exercise checks (mutmut + a catalogue
#                   of typical wrong answers), per-exercise score table

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.course-installed
# JupyterLab's settings for everyone using this environment (its app-settings folder):
# no "get notified about official Jupyter news?" prompt. binder/postBuild installs the
# same file on Binder.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
PORT ?= 8888
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))

# TensorFlow's C++ logs would otherwise land in notebook outputs and on stderr.
export TF_CPP_MIN_LOG_LEVEL := 2
export SDL_VIDEODRIVER := dummy
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: venv lab test test-browser test-colab test-unit test-notebooks student sync links lint bench \
	bench-grade test-mutation clean nbgrader otter test-nbgrader

venv: $(STAMP) $(LAB_OVERRIDES)

# The students' environment (environment.yml) and the developers' tools on top
# (requirements-dev.txt: pytest, ruff, Playwright, Dask...), in one pip resolution.
$(STAMP): environment.yml requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 needed"'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PYTHON) instructor/tools/envfile.py environment.yml > $(VENV)/requirements.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	@touch $(STAMP)

$(LAB_OVERRIDES): binder/overrides.json $(STAMP)
	@mkdir -p $(dir $@)
	cp binder/overrides.json $@

# The server's root is the repository (so jupytext finds jupytext.toml and keeps each
# .ipynb paired with its .py); the browser opens on notebooks/.
lab: venv
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks \
		--port=$(PORT) --ServerApp.open_browser=$(if $(CI),False,True) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# Two pytest-xdist workers, a file each at a time (a notebook's cells stay in order in
# one worker): the notebooks' training is mostly single-threaded Python, so two of
# them share 2 cores well.
test: $(STAMP)
	$(BIN)/python -m pytest tests $(NOTEBOOKS:.py=.ipynb) --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 --ignore=tests/browser --ignore=tests/nbgrader -n 2 --dist loadfile

# Needs Debian's Chromium (`apt-get install chromium`); never downloads a browser.
test-browser: venv
	$(BIN)/python -m pytest tests/browser -v -rs --durations=3

# Colab's library versions (tests/colab/colab-versions.txt) in their own environment,
# with Python 3.13 like Colab when there is one (pyenv's counts), else $(PYTHON).
COLAB_VENV ?= .venv-colab
COLAB_VERSIONS := tests/colab/colab-versions.txt
COLAB_STAMP := $(COLAB_VENV)/.installed
COLAB_PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	"$$p" -c '' 2>/dev/null && { echo "$$p"; break; }; done)

$(COLAB_STAMP): $(COLAB_VERSIONS)
	@test -n "$(COLAB_PYTHON)" || echo "NOTE: no working python3.13 (Colab's Python):" \
		"using $(PYTHON) for $(COLAB_VENV); set COLAB_PYTHON=... to choose"
	@test -x $(COLAB_VENV)/bin/python || $(or $(COLAB_PYTHON),$(PYTHON)) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -r $(COLAB_VERSIONS)
	@touch $(COLAB_STAMP)

# Installs the course package as the notebooks' Colab cell does (from this checkout),
# fails if that moved a Colab version, then runs every solution notebook with nbval.
# SDL_VIDEODRIVER and TF_CPP_MIN_LOG_LEVEL are unset: Colab sets neither.
test-colab: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python tests/colab/install_course.py
	env -u SDL_VIDEODRIVER -u TF_CPP_MIN_LOG_LEVEL $(COLAB_VENV)/bin/python -m pytest \
		$(NOTEBOOKS:.py=.ipynb) --nbval-lax --nbval-current-env --nbval-cell-timeout=600

# Unit tests of both packages, no kernel started; coverage of each reported apart.
# pytest-xdist spreads them over the cores (at most 4 workers: each imports TensorFlow).
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/instructor -m "not kernel" -n auto --maxprocesses 4 \
		--cov=course_utils --cov=instructor --cov-report=term-missing:skip-covered

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest $(NOTEBOOKS:.py=.ipynb) tests/test_student_notebooks.py \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600

student: $(STAMP)
	$(BIN)/python -m instructor.tools.student

# nbgrader's course folder: source/<chapter>/<chapter>.ipynb (the solution notebooks with
# nbgrader's cell metadata) and nbgrader_config.py (timeouts, the course's stubs). Needs
# the course environment only; nbgrader itself runs wherever the instructor has it.
NBGRADER_COURSE ?= build/nbgrader

nbgrader: $(STAMP)
	$(BIN)/python -m instructor.tools.nbgrader_export --out $(NBGRADER_COURSE)

# Otter-Grader: not supported (the README's instructor guide says why, and what to use).
otter:
	@echo "Otter-Grader is not supported: see the README's instructor guide (nbgrader)." >&2
	@exit 1

# nbgrader from PyPI (tests/nbgrader/requirements.txt) in its own environment, with the
# course's pinned libraries and the course package, never in .venv.
NBGRADER_VENV ?= .venv-nbgrader
NBGRADER_STAMP := $(NBGRADER_VENV)/.installed

$(NBGRADER_STAMP): environment.yml pyproject.toml tests/nbgrader/requirements.txt
	@test -x $(NBGRADER_VENV)/bin/python || $(PYTHON) -m venv $(NBGRADER_VENV)
	$(NBGRADER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) instructor/tools/envfile.py environment.yml > $(NBGRADER_VENV)/requirements.txt
	$(NBGRADER_VENV)/bin/python -m pip install --quiet -r $(NBGRADER_VENV)/requirements.txt \
		-r tests/nbgrader/requirements.txt
	$(NBGRADER_VENV)/bin/python -m pip install --quiet --no-deps --editable .
	$(NBGRADER_VENV)/bin/python -m ipykernel install --sys-prefix --name python3 \
		--display-name "Python 3 (ipykernel)" >/dev/null
	@touch $(NBGRADER_STAMP)

# nbgrader generate_assignment on every chapter (each release must be its student
# version byte for byte) and nbgrader autograde on three hand-ins of chapter 02 (right,
# Exercise 5 wrong, untouched): fails unless the scores are full, full minus Exercise
# 5's points, and 0.
test-nbgrader: $(NBGRADER_STAMP)
	$(NBGRADER_VENV)/bin/python -m pytest tests/nbgrader -v -rs --durations=5

sync: $(STAMP)
	$(BIN)/python -m instructor.tools.links
	$(BIN)/jupytext --quiet --set-kernel python3 --sync $(NOTEBOOKS)

# Point every generated link at a repository (a fork), a branch, a JupyterHub or
# another Colab package: sets course.toml's [repository], then rewrites the README's
# badges and hub links, the notebooks' Colab install cell (.py, .ipynb, student
# versions) and pyproject.toml. make links REPO=owner/name [BRANCH=main]
# [HUB=https://hub.example.edu|none] [PACKAGE=requirement|default]
links: $(STAMP)
	$(BIN)/python -m instructor.tools.links $(if $(REPO),--repo '$(REPO)') \
		$(if $(BRANCH),--branch '$(BRANCH)') $(if $(HUB),--hub '$(HUB)') \
		$(if $(PACKAGE),--package '$(PACKAGE)')

lint: $(STAMP)
	$(BIN)/ruff check .

# Stable-Baselines3 and PyTorch live in their own environment, never in the course's.
BENCH_VENV ?= benchmarks/.venv-sb3
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_ARGS ?= --seeds 0 1 2 3 4

$(BENCH_STAMP): benchmarks/requirements-sb3.txt
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-sb3.txt
	@touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS) --baselines \
		--sb3-python $(BENCH_VENV)/bin/python --time-make-test --readme

# The students' environment (environment.yml) in a fresh venv: its size before and
# after instructor/tools/slim_env.py, pip check, a Keras step and chapter 02 run in the
# slimmed one (about 3 minutes, 2 GB of /tmp); writes benchmarks/student_env_size.json,
# which the README's figures are checked against. Standard library only: no .venv.
.PHONY: env-size
env-size:
	$(PYTHON) benchmarks/student_env_size.py

# The grader on a generated class of 30 submissions (right, wrong, broken, hostile):
# checks every verdict and times the run (see the README's instructor guide).
bench-grade: $(STAMP)
	$(BIN)/python benchmarks/grader_side.py || echo "grader-side cost over its target (table above)"
	$(BIN)/python benchmarks/grade_class.py --workers 2

# Mutation testing of the checks: mutmut (pinned in tests/mutation/requirements.txt,
# installed into .venv by this target only: students and Binder never need it)
# mutates each exercise's solution; tests/mutation/mistakes/ holds typical wrong
# answers. Every mutant must fail its check or be listed in
# tests/mutation/equivalent.toml with the reason (see the README's instructor guide).
MUTATION_STAMP := $(VENV)/.mutation-installed

$(MUTATION_STAMP): $(STAMP) tests/mutation/requirements.txt
	$(BIN)/python -m pip install --quiet -r tests/mutation/requirements.txt
	@touch $(MUTATION_STAMP)

test-mutation: $(MUTATION_STAMP)
	$(BIN)/python -m instructor.tools.mutation run

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(COLAB_VENV) .pytest_cache .coverage test-artifacts
