# vgrid: `make demo` runs it on this machine, `make test` runs every test; both install what is missing first.
SHELL := /bin/bash
export PATH := $(CURDIR)/.node/bin:$(PATH)

TS_SOURCES := $(shell find src test bench -name '*.ts' 2>/dev/null) tsconfig.json
TINY := images/build/tiny.qcow2
TINY_RECIPE := $(shell find src/images -type f 2>/dev/null)

.PHONY: all deps build demo test typecheck lint unit integration clean

all: build

deps: .node/bin/node node_modules/.package-lock.json
	@./scripts/install-system.sh

.node/bin/node:
	@./scripts/ensure-node.sh

node_modules/.package-lock.json: package.json package-lock.json .node/bin/node
	npm ci --no-audit --no-fund
	@touch $@

dist/.built: $(TS_SOURCES) node_modules/.package-lock.json
	npx tsc -p tsconfig.json
	@touch $@

$(TINY): dist/.built $(TINY_RECIPE)
	@./scripts/install-system.sh
	bin/vgrid image build tiny --out $@

build: deps dist/.built $(TINY)

demo: build
	bin/vgrid up

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

lint: deps
	npx eslint .

unit: build
	node --test --test-concurrency=2 'dist/src/**/*.test.js'

integration: build
	node --test --test-concurrency=1 --test-timeout=600000 'dist/test/**/*.test.js'

# typecheck and lint run beside the unit tests; the VM tests run alone, since they load both cores.
test: build
	$(MAKE) --no-print-directory -j3 typecheck lint unit
	$(MAKE) --no-print-directory integration

clean:
	rm -rf dist images/build
