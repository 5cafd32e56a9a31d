# The two commands a newcomer types: `make run` and `make test`.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
# The sanitizer build uses clang, the Release build GCC: `make test` compiles every target with both
# compilers under -Werror without a third build.
ASAN_CXX ?= clang++
PORT ?= 5353

.PHONY: deps build build-asan run test test-release test-asan format format-check bench clean

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# A build directory configured with another compiler is started afresh: CMake would reset the cache and
# drop -DCLUSTERDNS_SANITIZE=ON with it.
build-asan: deps
	@if [ -f $(ASAN_BUILD)/CMakeCache.txt ] && \
	  ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=\(.*/\)\?$(ASAN_CXX)$$' $(ASAN_BUILD)/CMakeCache.txt; then \
	  echo "$(ASAN_BUILD) was configured with another compiler: removing it"; rm -rf $(ASAN_BUILD); fi
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_CXX_COMPILER=$(ASAN_CXX) -DCMAKE_BUILD_TYPE=Debug -DCLUSTERDNS_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

run: build
	@scripts/run-demo.sh $(BUILD) $(PORT)

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300

# Units, fuzz seed replays (labelled unit) and the end-to-end suite, all under ASan+UBSan.
test-asan: build-asan
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600 -L 'unit|e2e'

test: format-check test-release test-asan
	@echo "make test: all tests passed (Release with GCC, ASan+UBSan with clang)"

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check: deps
	@scripts/check-format.sh

bench: build
	bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
