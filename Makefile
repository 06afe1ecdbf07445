# The two commands README.md starts with: `make run` and `make test`.
BUILD_DIR   ?= build
BUILD_TYPE  ?= Release
CONFIG      ?= config/creditgate.example.json
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

FUZZ_SECONDS ?= 300

.PHONY: all build run demo test fuzz bench bench-load deps-build deps-demo deps-test deps-bench clean

all: build

deps-build:
	./install-deps.sh build
deps-demo:
	./install-deps.sh demo
deps-test:
	./install-deps.sh test
deps-bench:
	./install-deps.sh bench

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps-build $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/creditgate serve --config $(CONFIG)

# Mock vendors, a demo config and the proxy; a walk through a metered call, a queue, a 402 and a
# report; then it keeps running for you (README: "Try it without vendor keys").
demo: deps-demo build
	/usr/bin/python3 config/demo/demo.py --binary $(BUILD_DIR)/creditgate

test: deps-test $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS) --target all creditgate_asan units_asan
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Each fuzz target for FUZZ_SECONDS (make test runs them for 10 s each).
fuzz: deps-test
	tests/fuzz/run_fuzz.sh build $(BUILD_DIR)/fuzz
	for t in fuzz_money fuzz_pricing fuzz_settlement fuzz_request_head fuzz_config; do \
	  tests/fuzz/run_fuzz.sh run $(BUILD_DIR)/fuzz $$t $(FUZZ_SECONDS) || exit 1; done

bench: deps-bench build
	$(BUILD_DIR)/bench/ledger_bench
	bench/run.sh $(BUILD_DIR)/creditgate

# Thousands of slow vendor calls in flight (issue 22): N = 1000 5000 9900 by default.
LOAD_N ?= 1000 5000 9900
bench-load: deps-bench build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target slow_vendor slow_clients
	bench/slow_load.sh $(BUILD_DIR)/creditgate $(LOAD_N)

clean:
	rm -rf $(BUILD_DIR)
