# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench clean demo-model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the project's requirements change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

demo-model: $(STAMP)
	@# The bundled demo model (resources/demo): a `lite` MELDAE trained from scratch on
	@# `meldae synth` faces, fp16. Defaults fit ~15 min on a 2-core CPU; on a GPU give more,
	@# e.g. `make demo-model DEMO_CLIPS=32 DEMO_FRAMES=200 DEMO_EPOCHS=120 DEMO_BATCH=16`; extra
	@# `meldae train` flags go in DEMO_TRAIN_FLAGS (see resources/demo/README.md).
	set -e; d=$(or $(DEMO_BUILD),build/demo-model); t=$$d/train-$(or $(DEMO_CLIPS),16)x$(or $(DEMO_FRAMES),160); \
	[ -f $$t/splits.csv ] || $(BIN)/python -m meldae synth $$t --clips $(or $(DEMO_CLIPS),16) \
	    --frames $(or $(DEMO_FRAMES),160) --size $(or $(DEMO_SIZE),256) --seed 11; \
	[ -f $$d/heldout/splits.csv ] || $(BIN)/python -m meldae synth $$d/heldout --clips 12 --frames 240 \
	    --size $(or $(DEMO_SIZE),256) --seed 12345; \
	rm -rf $$d/run; \
	$(BIN)/python -m meldae train $$t --out $$d/run --preset lite --epochs $(or $(DEMO_EPOCHS),3) \
	    --batch-size $(or $(DEMO_BATCH),8) --device $(or $(DEVICE),auto) $(DEMO_TRAIN_FLAGS); \
	$(BIN)/python -m meldae evaluate $$d/heldout --checkpoint $$d/run/best.safetensors --split all \
	    --device $(or $(DEVICE),auto) --json $$d/heldout-eval.json; \
	$(BIN)/python -m meldae export-demo $$d/run/best.safetensors --heldout-report $$d/heldout-eval.json \
	    --trained-on "meldae synth --clips $(or $(DEMO_CLIPS),16) --frames $(or $(DEMO_FRAMES),160) --size $(or $(DEMO_SIZE),256) --seed 11; meldae train --preset lite --epochs $(or $(DEMO_EPOCHS),3) --batch-size $(or $(DEMO_BATCH),8)"

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
