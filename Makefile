# The two commands a newcomer needs are `make dist` and `make test`; both
# first run builder/setup-host.sh, which installs what a fresh Debian/Ubuntu
# host lacks (docker.io + dockerd, qemu-user-static + binfmt, mmdebstrap, npm ci).
SHELL := /bin/bash
OSFORGE := node_modules/.bin/osforge

.PHONY: setup dist release test lint format test-unit test-integration boot-test bench repro-check fresh-host-check lock typecheck clean-tools-cache clean chaos

# builder/setup.sh runs setup-host.sh once and stamps what it checked; a
# repeat run checks only that the engine answers, then rebuilds the compiled
# bin if a source changed. OSFORGE_SETUP_FULL=1 runs every check again.
setup:
	@builder/setup.sh

dist: setup
	$(OSFORGE) dist $(DIST_FLAGS)

# Signs an existing dist/ (build it first); fails without a key.
release: dist
	$(OSFORGE) sign --require-key dist

test: setup lint
	node_modules/.bin/tsc --noEmit
	node_modules/.bin/tsx test/run.ts

# ESLint (builder/lint/eslint.config.js) and Prettier's check (options in package.json).
lint:
	npm run --silent lint

# Rewrites pipeline/, test/ and builder/lint/ in Prettier's style.
format:
	npm run --silent format

test-unit:
	node_modules/.bin/tsx test/run.ts unit

test-integration: setup
	node_modules/.bin/tsx test/run.ts integration

# Boots dist/'s images under QEMU TCG (BIOS, OVMF, AAVMF) and waits for the boot marker.
boot-test: setup
	node_modules/.bin/tsx test/run.ts boot

bench: setup
	node_modules/.bin/tsx test/bench/startup-bench.ts
	node_modules/.bin/tsx test/bench/scheduler-bench.ts
	node_modules/.bin/tsx test/bench/dist-bench.ts
	node_modules/.bin/tsx test/bench/scale-probe.ts
	node_modules/.bin/tsx test/bench/builders-bench.ts

# Fault injection (issue 11): SIGKILLs over a cold build, concurrent runs, a
# dockerd stopped mid-stage2, full disks, one-byte corruptions, all on a
# private dockerd (never the shared engine). CHAOS_KILLS=N (default 10),
# CHAOS_QUICK=1 for CI (3 kills, fewer scenarios), CHAOS_DIR=<dir>. Needs root.
chaos: setup
	node_modules/.bin/tsx test/chaos/chaos.ts

# Two cold builds with different dirs, umask, TZ, LANG and hostname must match bit for bit.
repro-check: setup
	test/repro/repro-check.sh

# Rehearses a new machine: setup-host.sh in a bare Debian container with a
# Docker client and no engine, then Docker-in-Docker, an arm64 mmdebstrap
# check, npx osforge --help and make test-unit inside it.
fresh-host-check: setup
	test/fresh-host/fresh-host-check.sh

# Refresh images/lock.json (exact Debian package versions) from the mirror.
lock: setup
	$(OSFORGE) lock

typecheck:
	node_modules/.bin/tsc --noEmit

clean-tools-cache:
	$(OSFORGE) clean-tools-cache

clean:
	rm -rf dist
