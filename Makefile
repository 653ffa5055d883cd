# The README's two commands are `make demo` and `make test`. Every target runs the
# idempotent setup script first, so a fresh machine needs nothing else.
BUILD ?= build
JOBS ?= $(shell nproc)
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")

# `make test SANITIZE=1` builds with AddressSanitizer and UBSan in build-asan and tests
# there. UBSan findings abort, so that a test meeting one fails instead of printing.
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD := build-asan
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS=$(SANITIZE_FLAGS)" \
  "-DCMAKE_EXE_LINKER_FLAGS=$(SANITIZE_FLAGS)"
export ASAN_OPTIONS ?= detect_leaks=1
export LSAN_OPTIONS ?= suppressions=$(CURDIR)/scripts/lsan-suppressions.txt
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif

.PHONY: all setup configure build test soak demo bench fuzz clean

all: build

setup:
	@scripts/setup.sh

configure: setup
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Every doctest case is one CTest test that fails unless exactly that case ran (see
# scripts/ctest-guard.sh); --no-tests=error fails when nothing is registered at all.
test: build
	@scripts/setup.sh test
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) --timeout 300

# The crash harness for many trials (RECONCILER_SOAK_TRIALS, default 500; first seed
# RECONCILER_SOAK_SEED): apply SIGKILLed at seeded moments, rerun until it converges, audited.
soak: build
	scripts/soak.sh $(BUILD)

demo: build
	scripts/demo.sh $(BUILD)

# `make bench QUICK=1`: N <= 1,000 and no daemon figures, under a minute. Both write
# bench/results.json and print the figures as a Markdown table.
QUICK ?= 0
bench: build
	QUICK=$(QUICK) scripts/bench.sh $(BUILD)

fuzz:
	@scripts/setup.sh fuzz
	scripts/fuzz.sh

clean:
	rm -rf $(BUILD) fuzz-out
