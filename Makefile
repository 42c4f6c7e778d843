# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench clean demo-model

# The shipped demo model's recipe (`make demo-model`; override any of them on the command line).
DEMO_CLIPS ?= 32
DEMO_FRAMES ?= 150
DEMO_SIZE ?= 256
DEMO_ME_SCALE ?= 3
DEMO_EPOCHS ?= 15
DEMO_BATCH ?= 4
DEMO_LR ?= 1e-3

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
	@# The bundled demo model (resources/demo): a `lite` MELDAE trained from scratch on
	@# `meldae synth` faces (MEs at DEMO_ME_SCALE x the default amplitude), fp16. The
	@# defaults are the shipped recipe: ~45 min on a 2-core CPU, a few minutes on a GPU;
	@# extra `meldae train` flags go in DEMO_TRAIN_FLAGS (see resources/demo/README.md).
	set -e; d=$(or $(DEMO_BUILD),build/demo-model); \
	t=$$d/train-$(DEMO_CLIPS)x$(DEMO_FRAMES)x$(DEMO_ME_SCALE); h=$$d/heldout-x$(DEMO_ME_SCALE); \
	[ -f $$t/splits.csv ] || $(BIN)/python -m meldae synth $$t --clips $(DEMO_CLIPS) \
	    --frames $(DEMO_FRAMES) --size $(DEMO_SIZE) --me-scale $(DEMO_ME_SCALE) --seed 11; \
	[ -f $$h/splits.csv ] || $(BIN)/python -m meldae synth $$h --clips 12 --frames 240 \
	    --size $(DEMO_SIZE) --me-scale $(DEMO_ME_SCALE) --seed 12345; \
	rm -rf $$d/run; \
	$(BIN)/python -m meldae train $$t --out $$d/run --preset lite --epochs $(DEMO_EPOCHS) \
	    --batch-size $(DEMO_BATCH) --lr-new $(DEMO_LR) --device $(or $(DEVICE),auto) $(DEMO_TRAIN_FLAGS); \
	$(BIN)/python -m meldae evaluate $$h --checkpoint $$d/run/best.safetensors --split all \
	    --device $(or $(DEVICE),auto) --json $$d/heldout-eval.json; \
	for m in lbp-top lbp-sip; do $(BIN)/python -m meldae baseline $$m $$h --split all \
	    --tune-on $$t --crop-size 160 --json $$d/heldout-$$m.json; done; \
	$(BIN)/python -m meldae export-demo $$d/run/best.safetensors --heldout-report $$d/heldout-eval.json \
	    --trained-on "meldae synth --clips $(DEMO_CLIPS) --frames $(DEMO_FRAMES) --size $(DEMO_SIZE) --me-scale $(DEMO_ME_SCALE) --seed 11; meldae train --preset lite --epochs $(DEMO_EPOCHS) --batch-size $(DEMO_BATCH) --lr-new $(DEMO_LR) $(DEMO_TRAIN_FLAGS)"

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
