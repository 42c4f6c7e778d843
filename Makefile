# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench clean demo-model

# The shipped demo model's recipe (`make demo-model`; override any of them on the command line):
# procedural faces (many identities) and a real face (DEMO_SOURCE) with speech and MEs injected
# at DEMO_ME_SCALE x the default amplitude (at 1x our models do not find MEs on a new real face:
# docs/benchmarks.md); held out: another real face (DEMO_HELDOUT).
DEMO_CLIPS ?= 16
DEMO_REAL_CLIPS ?= 16
DEMO_FRAMES ?= 150
DEMO_SIZE ?= 256
DEMO_ME_SCALE ?= 3
DEMO_MES ?= 6
DEMO_EPOCHS ?= 5
DEMO_BATCH ?= 4
DEMO_SOURCE ?= ../shared/data/video/WolfgangLanger_Pexels.mp4
DEMO_HELDOUT ?= ../shared/data/video/single_face.mp4

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the project's requirements change. The landmarks extra (eye-aligned
# crops) is part of the reference setup: bench/learns.py's figures and its test need it.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,landmarks]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

demo-model: $(STAMP)
	@# The bundled demo model (resources/demo): a `lite` MELDAE trained from scratch, fp16.
	@# The defaults are the shipped recipe: ~45 min on a 2-core CPU, a few minutes on a GPU;
	@# extra `meldae train` flags go in DEMO_TRAIN_FLAGS (see resources/demo/README.md).
	set -e; d=$(or $(DEMO_BUILD),build/demo-model); \
	synth="--frames $(DEMO_FRAMES) --size $(DEMO_SIZE) --me-scale $(DEMO_ME_SCALE) --mes-per-10s $(DEMO_MES)"; \
	t=$$d/train-$(DEMO_CLIPS)p$(DEMO_REAL_CLIPS)r-x$(DEMO_ME_SCALE); h=$$d/heldout-real-x$(DEMO_ME_SCALE); \
	[ -f $$t/synth-real.json ] || { $(BIN)/python -m meldae synth $$t --clips $(DEMO_CLIPS) $$synth --seed 11 && \
	    $(BIN)/python -m meldae synth $$t --source $(DEMO_SOURCE) --prefix real --clips $(DEMO_REAL_CLIPS) $$synth --seed 13; }; \
	[ -f $$h/synth-heldout.json ] || $(BIN)/python -m meldae synth $$h --source $(DEMO_HELDOUT) --prefix heldout \
	    --clips 6 --frames 300 --size 320 --me-scale $(DEMO_ME_SCALE) --mes-per-10s $(DEMO_MES) --seed 12345; \
	rm -rf $$d/run; \
	$(BIN)/python -m meldae train $$t --out $$d/run --preset lite --epochs $(DEMO_EPOCHS) \
	    --batch-size $(DEMO_BATCH) --device $(or $(DEVICE),auto) --no-pretrained $(DEMO_TRAIN_FLAGS); \
	$(BIN)/python -m meldae evaluate $$h --checkpoint $$d/run/best.safetensors --split all \
	    --device $(or $(DEVICE),auto) --json $$d/heldout-eval.json; \
	for m in lbp-top lbp-sip frame-diff; do $(BIN)/python -m meldae baseline $$m $$h --split all \
	    --tune-on $$t --crop-size 160 --json $$d/heldout-$$m.json; done; \
	$(BIN)/python -m meldae export-demo $$d/run/best.safetensors --heldout-report $$d/heldout-eval.json \
	    --note "synthetic speech and MEs ($(DEMO_ME_SCALE)x) on procedural faces and one real person" \
	    --trained-on "meldae synth --clips $(DEMO_CLIPS) $$synth --seed 11; meldae synth --source $(notdir $(DEMO_SOURCE)) --prefix real --clips $(DEMO_REAL_CLIPS) $$synth --seed 13; meldae train --preset lite --epochs $(DEMO_EPOCHS) --batch-size $(DEMO_BATCH) $(DEMO_TRAIN_FLAGS); held out: $(notdir $(DEMO_HELDOUT))"

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
