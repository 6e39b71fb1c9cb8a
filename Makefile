# vgrid: `make demo` runs it on this machine, `make test` runs every test; both install what is missing first.
SHELL := /bin/bash
export PATH := $(CURDIR)/.node/bin:$(PATH)

TS_SOURCES := $(shell find src test bench -name '*.ts' 2>/dev/null) tsconfig.json
TINY := images/build/tiny.qcow2
TINY_RECIPE := $(shell find src/images -type f 2>/dev/null)
# The portal bundles its own sources and the shared rules and API shapes of src/portal and src/core.
WEB_SOURCES := $(shell find web/src src/portal src/core -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
PORTAL := web/dist/index.html

.PHONY: all deps system build demo test test-stages typecheck lint unit integration clean

all: build

# Debian packages first: on a fresh machine they bring npm, which fetches Node and the rest.
deps: system .node/bin/node node_modules/.package-lock.json

system:
	@./scripts/install-system.sh

.node/bin/node: | system
	@./scripts/ensure-node.sh

# Install scripts are not run: no dependency needs one (better-sqlite3 ships its binary for Node 24).
node_modules/.package-lock.json: package.json package-lock.json | .node/bin/node
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

# A clean dist/: tsc never deletes the output of a renamed or removed source, which would still run.
# `vgrid node` runs from one bundle: an agent loaded from its hundreds of modules (TypeBox's alone
# are 800) takes 30 MB more memory on every hypervisor. The banner gives pino's CommonJS a require.
dist/.built: $(TS_SOURCES) node_modules/.package-lock.json
	rm -rf dist
	npx tsc -p tsconfig.json
	npx esbuild dist/src/cli/commands/node.js --bundle --platform=node --format=esm --target=node24 \
	  --outfile=dist/node-agent.mjs --log-level=warning \
	  "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
	@touch $@

# The web portal: built assets stay out of git (web/dist/), served by the vgrid server.
$(PORTAL): $(WEB_SOURCES) node_modules/.package-lock.json
	npx vite build --config web/vite.config.ts
	gzip -9 -k -f web/dist/assets/*.js web/dist/assets/*.css
	@touch $@

# The image is rebuilt when its recipe changes, not when any other source does.
$(TINY): $(TINY_RECIPE) | dist/.built system
	bin/vgrid image build tiny --out $@

build: deps dist/.built $(PORTAL) $(TINY)

demo: build
	bin/vgrid up

typecheck: deps
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p web/tsconfig.json

lint: deps
	npx eslint .

# Store and API tests run on SQLite and on PostgreSQL: with-postgres starts one throwaway cluster for
# the command it runs (`make test` runs everything under one); run alone, a test file starts its own.
WITH_POSTGRES := node dist/test/support/with-postgres.js

unit: build
	node --test --test-concurrency=2 'dist/src/**/*.test.js'

# The browser tests save a screenshot of every page they see, at desktop and phone sizes: look at them.
integration: build
	@echo "screenshots of the portal go to $(CURDIR)/test-results/screenshots/"
	node --test --test-concurrency=1 --test-timeout=600000 'dist/test/**/*.test.js'


# typecheck and lint run beside the unit tests; the VM tests run alone, since they load both cores.
test: build
	$(WITH_POSTGRES) $(MAKE) --no-print-directory test-stages

test-stages:
	$(MAKE) --no-print-directory -j3 typecheck lint unit
	$(MAKE) --no-print-directory integration

clean:
	rm -rf dist web/dist images/build
