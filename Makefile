# audio-style — see README.md. Every target works from a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run test lint demo bench screenshots package clean

LOCK := packaging/requirements/dev.lock

# Every third-party package from the pinned, hash-checked lock (packaging/lock.sh: core + extras
# app, server, dev; never gpu/torch), then the project itself without dependencies.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "make setup: $(PY) -m venv failed (Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@$(BIN)/python packaging/check_env.py app server dev && $(BIN)/python -m pip check -q \
	  || { echo "make setup: $(LOCK) is behind pyproject.toml: run packaging/lock.sh" >&2; exit 1; }
	@touch $(STAMP)

# System libraries the app needs (Qt's platform plugin, PortAudio; app/sysdeps.py): installed
# when root (or AUDIO_STYLE_SUDO=1), else one apt-get command is printed; never fails setup.
# The web console is built too when npm is present (below).
setup: $(STAMP) console  ## idempotent: .venv with the project and its extras, system libraries, web console (npm)
	@$(BIN)/python -m app.sysdeps --install

# Web console (frontend/, docs/console.md): built with npm when present (`npm ci` from the
# committed lockfile); without npm the server shows a page saying how to build it.
CONSOLE := frontend/dist/index.html
CONSOLE_SRC := $(shell find frontend/src frontend/scripts -type f 2>/dev/null) \
  frontend/package.json frontend/package-lock.json frontend/index.html frontend/vite.config.ts \
  frontend/tsconfig.json
.PHONY: console
console:  ## build the web console into frontend/dist (needs npm)
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(CONSOLE); \
	else echo "npm not found: the web console is not built (the server shows how to build it)"; fi

$(CONSOLE): $(CONSOLE_SRC)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build
	@touch $@

# `audio-style gui` checks for a display and the window's libraries before Qt loads (one line)
run: setup  ## launch the desktop app (falls back to the headless demo without app/)
	@if [ -f app/main.py ]; then AUDIO_STYLE_LAUNCHER="make run" $(BIN)/audio-style gui; \
	else $(MAKE) demo; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(wildcard engine cloud server tools app tests)
	$(BIN)/lint-imports

# PACKAGE_SMOKE=1: build the desktop bundle first; tests/packaging then runs it (.ci/run does)
test: setup lint $(if $(filter 1,$(PACKAGE_SMOKE)),package)  ## every test (services required when REQUIRE_SERVICES=1)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

demo: setup  ## headless: CLI on generated demo clips, writes artifacts/demo/
	$(BIN)/python -m tools.demo artifacts/demo

bench: setup  ## quality/speed benchmark against Matchering (separate venv), then bench-timing
	$(BIN)/python -m tools.bench --out artifacts/bench
	$(BIN)/python -m tools.timing --out artifacts/bench

# The timing figures the tests do not gate on (API p95 of 200 concurrent POST /jobs, the GUI's
# largest event gap on a 10-minute match), printed against their targets: tools/timing.py
.PHONY: bench-timing
bench-timing: setup  ## API latency (burst + wrk) and GUI responsiveness figures with targets
	$(BIN)/python -m tools.timing --out artifacts/bench

.PHONY: bench-console
bench-console: setup  ## web console: the job list with 1 000 jobs in headless chromium (prints figures)
	$(BIN)/python -m tests.console.bench_jobs --jobs 1000

# GPU: onnxruntime-gpu (the `gpu` extra) and the CPU wheel onnxruntime (a core dependency) install
# the same package, so they are swapped, never both installed. Run setup-gpu again after
# `make setup` has reinstalled from the lock (the lock keeps the CPU wheel).
.PHONY: setup-gpu gpu-check
setup-gpu: setup  ## swap the CPU onnxruntime for onnxruntime-gpu (CUDA + cuDNN wheels)
	$(BIN)/python -m pip uninstall -y -q onnxruntime onnxruntime-gpu
	$(BIN)/python -m pip install -q "onnxruntime-gpu[cuda,cudnn]>=1.17"
	$(BIN)/python -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())"

gpu-check: setup  ## parity + throughput of the onnxruntime backend on CUDA (CPU provider without one)
	$(BIN)/python -m tools.gpu_check

# Learned style estimator (engine/estimator): PyTorch only here, in its own venv; the result is
# resources/models/style-estimator.{onnx,json}. MUSIC_DIR=any folder of music to train on others.
TRAIN_MUSIC ?= $(HOME)/.cache/audio-style-train/music
MUSIC_DIR ?= $(TRAIN_MUSIC)
.PHONY: train
train:  ## train the learned estimator (torch==2.13.0 CPU) and export resources/models/*.onnx
	test -x .venv-train/bin/python || python3 -m venv .venv-train
	.venv-train/bin/python -m pip install -q torch==2.13.0 onnx -e .
	@if [ "$(MUSIC_DIR)" = "$(TRAIN_MUSIC)" ]; then tools/training/fetch_music.sh "$(MUSIC_DIR)"; fi
	.venv-train/bin/python -m tools.training.train --music "$(MUSIC_DIR)" \
	  --out resources/models --cache $(HOME)/.cache/audio-style-train/segments.npz

package: setup  ## desktop bundle dist/audio-style/ (PyInstaller, CPU only; packaging/README.md)
	rm -rf dist/audio-style build/pyinstaller
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
	  packaging/audio-style.spec
	@du -sh dist/audio-style

clean:
	rm -rf artifacts build dist .pytest_cache .mypy_cache .ruff_cache

# Fuzzing (tests/fuzz): atheris over the probe/decoder and the preset parser (each run one
# generated file; crashes land in artifacts/fuzz/), schemathesis over the API's OpenAPI spec
# (an embedded server over real HTTP; counts from its metrics). `make test` runs a short smoke.
FUZZ_AUDIO_RUNS ?= 10000
FUZZ_PRESET_RUNS ?= 5000
FUZZ_API_EXAMPLES ?= 100
.PHONY: fuzz faults
fuzz: setup  ## fuzz the audio probe/decoder, presets and the API (counts printed)
	nice -n 10 $(BIN)/python -m tests.fuzz.harness audio --runs $(FUZZ_AUDIO_RUNS)
	nice -n 10 $(BIN)/python -m tests.fuzz.harness preset --runs $(FUZZ_PRESET_RUNS)
	nice -n 10 $(BIN)/python -m tests.fuzz.api --max-examples $(FUZZ_API_EXAMPLES)

# Faults at scale (tests/faults/run.py; minutes): its own PostgreSQL cluster and RabbitMQ node
# (ports 18610 and 18672-18673 by default, FAULTS_ARGS to change), never the machine's shared ones.
FAULTS_ARGS ?=
faults: setup  ## kill -9 workers 200x, restart RabbitMQ 3x and PostgreSQL 2x over >= 100 jobs; check
	nice -n 5 $(BIN)/python -m tests.faults.run $(FAULTS_ARGS)

# --- server images (deploy/README.md) --------------------------------------------------------
# Immutable tags: one per commit (git sha), never `latest`. REGISTRY=<tcr>/<ns> to tag for a
# registry; IMAGES_GPU=0 skips the GPU worker; ALLOW_DIRTY=1 builds from a modified tree.
REGISTRY ?= audio-style
IMAGES_GPU ?= 1
IMAGE_TAG = $(shell git rev-parse --short HEAD)
DOCKER_BUILD = DOCKER_BUILDKIT=1 docker build --build-arg GIT_SHA=$(IMAGE_TAG)

.PHONY: images
images:  ## build the api, console, scheduler and worker images tagged with the git sha
	@if [ -z "$(ALLOW_DIRTY)" ] && [ -n "$$(git status --porcelain)" ]; then \
	  echo "make images: working tree is dirty; commit first (or ALLOW_DIRTY=1)" >&2; exit 1; fi
	$(DOCKER_BUILD) -f deploy/Dockerfile.api -t $(REGISTRY)/audio-style-api:$(IMAGE_TAG) .
	$(DOCKER_BUILD) -f deploy/Dockerfile.console -t $(REGISTRY)/audio-style-console:$(IMAGE_TAG) .
	$(DOCKER_BUILD) -f deploy/Dockerfile.scheduler -t $(REGISTRY)/audio-style-scheduler:$(IMAGE_TAG) .
	$(DOCKER_BUILD) -f deploy/Dockerfile.worker --build-arg VARIANT=cpu \
	  -t $(REGISTRY)/audio-style-worker:$(IMAGE_TAG) .
	@if [ "$(IMAGES_GPU)" = "1" ]; then \
	  $(DOCKER_BUILD) -f deploy/Dockerfile.worker --build-arg VARIANT=gpu \
	    -t $(REGISTRY)/audio-style-worker:$(IMAGE_TAG)-gpu . ; fi
	@echo "built $(REGISTRY)/audio-style-{api,console,scheduler,worker}:$(IMAGE_TAG)"

screenshots: setup  ## PNGs of the app after a match, Delivery panel, export dialog, error, web console pages (en + zh) -> artifacts/screenshots/
	@if command -v xvfb-run >/dev/null; then \
		xvfb-run -a -s "-screen 0 1920x1200x24" $(BIN)/python -m app.screenshots artifacts/screenshots; \
	else \
		echo "xvfb-run not found (apt-get install xvfb): using Qt's offscreen platform"; \
		QT_QPA_PLATFORM=offscreen $(BIN)/python -m app.screenshots artifacts/screenshots; \
	fi
	$(BIN)/python -m tests.console.screenshots artifacts/screenshots  # web console pages (zh + en)
