# The README's two commands are `make demo` and `make test`. Every target runs the
# idempotent setup script first, so a fresh machine needs nothing else.
BUILD ?= build
JOBS ?= $(shell nproc)
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")

.PHONY: all setup configure build test demo bench fuzz clean

all: build

setup:
	@scripts/setup.sh

configure: setup
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

demo: build
	scripts/demo.sh $(BUILD)

bench: build
	scripts/bench.sh $(BUILD)

fuzz:
	@scripts/setup.sh fuzz
	scripts/fuzz.sh

clean:
	rm -rf $(BUILD) fuzz-out
