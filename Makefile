# The two commands of the README:  make demo   and   make test
BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 30
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: deps configure build test demo bench clean

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	./scripts/fuzz-briefly.sh $(FUZZ_SECONDS)

# The demo needs only the meterhub binary, not the ~300 test and benchmark targets.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target meterhub
	./$(BUILD)/src/app/meterhub demo $(DEMO_ARGS)

bench: build
	./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
