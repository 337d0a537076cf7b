# The README's two commands. Both install what is missing first and are safe to re-run.
#   make demo   build and run the main demo (a parameter sweep with a progress bar), twice:
#               the second run is served from the cache (build/demo-cache)
#   make test   build everything and run every test suite
#   make fuzz   run every fuzz target of tests/fuzz for FUZZ_SECONDS each (default 600)
#   make docs   the API reference (Doxygen, warnings as errors) into build/docs/html
#   make bench  run every benchmark side by side and write docs/benchmarks.md (+ charts)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: docs test-docs bench test-bench demo test setup test-native test-sanitizers test-wasm test-browser test-python test-pyodide test-mpi test-fuzz fuzz clean
# One step at a time even under `make -j`: setup must finish before any build, and
# test-native and test-wasm both configure and build build/release. (Each step's own
# build and ctest run in parallel with $(JOBS).)
.NOTPARALLEL:

# The build's own output goes to a log: a new user sees the demo, and the log's tail only
# when the build fails.
demo:
	@bash scripts/setup.sh
	@mkdir -p build
	@echo "demo: building the library and the demo (log: build/demo-build.log)"
	@{ cmake --preset release && cmake --build --preset release -j $(JOBS) --target weft_demo; } \
		>build/demo-build.log 2>&1 || { tail -n 40 build/demo-build.log; \
		echo "demo: the build failed; the whole log is build/demo-build.log"; exit 1; }
	./build/release/examples/weft_demo
	@echo; echo "=== the same sweep again: served from the cache ==="; echo
	./build/release/examples/weft_demo

test: setup test-native test-sanitizers test-fuzz test-mpi test-wasm test-browser test-python test-pyodide \
	docs test-docs test-bench
	@echo "make test: every suite passed"

setup:
	@bash scripts/setup.sh all

test-native:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	ctest --preset release -j $(JOBS)

test-sanitizers:
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan

test-wasm:
	bash scripts/test-wasm.sh

test-browser:
	bash scripts/test-browser.sh

test-python:
	bash scripts/test-python.sh

# make test runs every fuzz target briefly (the corpus replays in ctest as well); make fuzz
# runs each for as long as FUZZ_SECONDS says.
test-fuzz:
	FUZZ_SECONDS=5 JOBS=$(JOBS) bash scripts/test-fuzz.sh

FUZZ_SECONDS ?= 600
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) bash scripts/test-fuzz.sh

test-pyodide:
	bash scripts/test-pyodide.sh

test-mpi:
	bash scripts/test-mpi.sh

docs:
	bash scripts/make-docs.sh

# every fenced sh, C, JS and Python block of README.md and docs/ is built and run
test-docs:
	JOBS=$(JOBS) bash scripts/test-docs.sh

# the benchmark report: make bench writes docs/benchmarks.md; make test runs its quick
# mode (every bench at smoke-test sizes, no timing targets, nothing written to docs/)
bench:
	/usr/bin/python3 scripts/bench-report

test-bench:
	/usr/bin/python3 scripts/bench-report --quick

clean:
	rm -rf build
