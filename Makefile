# `make run` and `make test` (called by ./setup.sh after it installs what is missing): configure,
# build, then run the default plan or the whole test suite.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps configure build run test sanitize clang-check clean

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: configure
	cmake --build $(BUILD) -j $(JOBS) --target bwplan
	./$(BUILD)/bwplan search --model llama-3.1-8b --instance ml.p6-b200.48xlarge

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The whole test suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer (any report
# aborts the test that triggered it). -O1 without debug info keeps the build short; .ci/run calls
# it after `./setup.sh test`.
sanitize: deps
	cmake -S . -B build-asan -DBWPLAN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG"
	cmake --build build-asan -j $(JOBS) --target bwplan bwplan_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-asan --output-on-failure -j $(JOBS)

# Every translation unit of $(BUILD) through clang++ -fsyntax-only (scripts/clang-check.sh): the
# fuzz targets build with clang, which refuses some code gcc accepts. .ci/run calls it.
clang-check: configure
	./scripts/clang-check.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
