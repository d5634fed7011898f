# A thin wrapper over CMake, as luv has: the commands a user types.
#   make        build into ./build
#   make demo   generate a real image from a prompt (Adobe if credentials are set, else the emulator)
#   make test   build and run every test (C units, busted on Lua 5.1-5.4 and LuaJIT)
#   make asan   the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make poll   the host-loop specs on the poll(2) fallback of platforms without epoll
#   make bench  the throughput benchmark against the emulator
#   make bench-frame  a 60 Hz host loop: step and save costs per frame, lost events
#   make bench-cost  instructions and requests per job beside the floor (../shared/peers, PEERS=dir)
#   make chaos  2,000 jobs under a 20% fault mix: no duplicate submit, no lost job, exact outputs
#   make fuzz   libFuzzer over the C that reads server bytes (FUZZ_SECONDS each, default 20)
#   make valgrind  memcheck over the core specs: no leak, no invalid access
#   make env    shell exports for using the built tree from any directory (LUA=luajit: for that interpreter)
#   make lint   luacheck over the Lua sources, specs, examples and benchmarks
#   make rock   luarocks lint, pack, and build the packed rock into a fresh tree (ROCK_LUAS)
#   make fresh  regenerate the versioned rockspec, types and manual; fail if a committed one is stale

MAKEFLAGS += --no-print-directory

BUILD   ?= build
JOBS    ?= 2
CMAKE_FLAGS ?= -DFIREFLY_WERROR=ON -DFIREFLY_EMULATOR=ON
# The interpreter `make env`, demo, bench, chaos and valgrind use; the suite runs on all five.
LUA     ?= lua5.4

DEB_PACKAGES = cmake make gcc pkg-config curl lua5.4 liblua5.4-dev lua-cjson lua-busted lua-check \
               lua5.1 liblua5.1-0-dev lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev \
               luajit libluajit-5.1-dev libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev luarocks \
               clang libclang-rt-14-dev valgrind openssl chromium lua-socket lua-cqueues \
               lua-luv lua-copas love xvfb xauth imagemagick ffmpeg zip

.PHONY: all build deps demo test asan poll bench bench-frame bench-cost chaos fuzz valgrind env lint rock fresh clean

all: build

# Installs only what is missing, so a ready machine pays nothing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@# Again whenever package-lock.json changes (the stamp is the lock it was installed from).
	@cmp -s spec/conformance/package-lock.json spec/conformance/node_modules/.firefly-lock || ! command -v npm >/dev/null \
	  || { npm ci --prefix spec/conformance --no-audit --no-fund \
	       && cp spec/conformance/package-lock.json spec/conformance/node_modules/.firefly-lock; }

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@eval "$$($(MAKE) -s env)"; $(LUA) examples/quickstart.lua

test: build
	@cd $(BUILD) && ctest -j $(JOBS) --output-on-failure

asan:
	@$(MAKE) -s test BUILD=build-asan CMAKE_FLAGS="-DFIREFLY_WERROR=ON -DFIREFLY_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DFIREFLY_LUAS=5.4,jit"

# macOS and the BSDs have no epoll: the core falls back to poll(2), built here on Linux.
POLL_SPECS = pollable_spec|event_queue_spec|concurrency_spec|uploads_spec
poll: deps
	@cmake -S . -B build-poll -DFIREFLY_WERROR=ON -DFIREFLY_EMULATOR=ON -DFIREFLY_POLLER=poll -DFIREFLY_LUAS=5.4 >/dev/null
	@cmake --build build-poll -j $(JOBS)
	@cd build-poll && ctest -j $(JOBS) --output-on-failure -R '$(POLL_SPECS)'

chaos: build
	@eval "$$($(MAKE) -s env)"; $(LUA) bench/chaos.lua

# Every piece of C that reads server-controlled bytes has a target in tests/fuzz.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS = retry_after url header
fuzz: deps
	@mkdir -p build-fuzz
	@for t in $(FUZZ_TARGETS); do \
	  clang -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -Isrc $$(pkg-config --cflags libcurl) \
	    tests/fuzz/fuzz_$$t.c src/retry.c src/hosts.c src/headers.c -o build-fuzz/fuzz_$$t $$(pkg-config --libs libcurl) -lm || exit 1; \
	  mkdir -p build-fuzz/corpus_$$t; \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus_$$t tests/fuzz/corpus/$$t \
	    2>build-fuzz/fuzz_$$t.log || { tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
	  echo "fuzz_$$t: $$(grep -o 'Done [0-9]* runs' build-fuzz/fuzz_$$t.log), no crash"; \
	done

# The C core under memcheck, through the specs that drive it hardest (the
# emulator is another process and not traced). Only definite leaks count:
# the interpreter keeps reachable memory until exit.
VALGRIND_SPECS ?= spec/jobs_spec.lua spec/faults_spec.lua
valgrind: build
	@eval "$$($(MAKE) -s env)"; export LUA_PATH="$(CURDIR)/spec/?.lua;$$LUA_PATH"; \
	for s in $(VALGRIND_SPECS); do \
	  valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --trace-children=no \
	    $(LUA) /usr/bin/busted $$s || exit 1; \
	done

bench: build
	@eval "$$($(MAKE) -s env)"; $(LUA) bench/throughput.lua

# A 60 Hz host loop: 64 jobs of 1024x1024 outputs, each saved without blocking the frame.
bench-frame: build
	@eval "$$($(MAKE) -s env)"; $(LUA) bench/frame.lua

# The same jobs by the peers' floor (raw libcurl multi, C) and by this client, on one emulator:
# instructions per job under callgrind, requests and CPU per job, side by side (issue 10 item 8).
PEERS ?= $(firstword $(wildcard $(CURDIR)/../shared/peers $(CURDIR)/../../shared/peers) ../shared/peers)
COST_JOBS ?= 1000
COST_IN_FLIGHT ?= 64
bench-cost: build
	@eval "$$($(MAKE) -s env)"; nice $(LUA) bench/cost.lua $(COST_JOBS) $(COST_IN_FLIGHT) $(PEERS)

# LUA_CPATH, which 5.1 and LuaJIT read, points at LUA's binding; 5.2-5.4 read
# LUA_CPATH_5_x first, so each of those always gets its own.
LUA_LIBDIR = $(if $(findstring jit,$(LUA)),jit,$(patsubst lua%,%,$(LUA)))
env:
	@echo 'export LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;"'
	@echo 'export LUA_CPATH="$(CURDIR)/$(BUILD)/lib/$(LUA_LIBDIR)/?.so;;"'
	@for v in 5_2 5_3 5_4; do echo "export LUA_CPATH_$$v=\"$(CURDIR)/$(BUILD)/lib/$$(echo $$v | tr _ .)/?.so;;\""; done
	@echo 'export PATH="$(CURDIR)/$(BUILD)/bin:$(CURDIR)/bin:$$PATH"'
	@echo 'export FIREFLY_EMULATOR="$(CURDIR)/$(BUILD)/bin/firefly-emulator"'

LINT_DIRS = lua bin spec examples bench tools
lint: deps
	@luacheck -q $(LINT_DIRS)

# The rock as a user gets it: lint the rockspecs, pack the versioned one from
# this checkout, and build the packed rock into a fresh tree, once per Lua.
ROCK_LUAS ?= 5.1 5.4
rock: deps
	@tools/rock-check $(ROCK_LUAS)

# Generated files are committed; this regenerates them and fails on any difference.
fresh: build
	@tools/fresh-check

clean:
	rm -rf build build-asan build-poll build-fuzz build-rock build.luarocks
