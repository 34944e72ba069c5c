# The shop's commands. `make dev` runs the shop locally on real servers; `make test` runs
# every test. Both install what is missing first (redis-server through apt, the npm packages
# for DynamoDB Local and s3rver into .tools/, which git ignores).

SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools
NPM_PACKAGES := amplify-dynamodb-simulator@2.9.30 s3rver@3.7.1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export SHOP_TOOLS_DIR := $(TOOLS)

.PHONY: dev test bench tools vet infra-test snapshots package storefront-dist

## dev: run the shop locally (ADDR=127.0.0.1:8080) until Ctrl-C
dev: tools
	$(GO) run ./functions/local/dev

## test: every test, against real local servers
test: tools vet lint-workflows
	$(GO) test -count=1 -timeout 40m ./...

## bench: measure speed and concurrency against same-run references (under 10 minutes);
## writes $(BENCH_REPORT) and a latency plot beside it
BENCH_REPORT ?= bench-report.json
bench: tools
	BENCH_REPORT=$(BENCH_REPORT) $(GO) run ./functions/local/bench

## infra-test: the Pulumi program under mocks: components, graph snapshots, policy tests
infra-test:
	$(GO) test -count=1 ./components/... ./stacks/...

## snapshots: rewrite stacks/testdata/<stack>.graph.json after an intended infrastructure change
snapshots:
	$(GO) test -count=1 ./stacks/... -update

## storefront-dist: build the storefront into storefront/dist, which `pulumi up` uploads to
## the site (npm ci from the lock file, then Vite)
storefront-dist:
	cd storefront && npm ci --no-audit --no-fund --loglevel=error && npm run build

## package: cross-compile every function into .build/functions/<name>.zip as `pulumi up` does
package:
	$(GO) test -count=1 -timeout 30m ./stacks -run TestPackageRealFunctions -build-functions

## lint-workflows: check .github/workflows with actionlint (pinned, built from the Go module
## proxy into .tools/bin) and, when shellcheck is installed, their scripts too
ACTIONLINT_VERSION := v1.7.12
.PHONY: lint-workflows
lint-workflows: $(TOOLS)/bin/.actionlint-$(ACTIONLINT_VERSION)
	$(TOOLS)/bin/actionlint
	@if command -v shellcheck >/dev/null; then shellcheck .github/scripts/*.sh; fi

$(TOOLS)/bin/.actionlint-$(ACTIONLINT_VERSION):
	GOBIN=$(TOOLS)/bin $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	touch $@

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## tools: install the local servers when missing
tools: $(TOOLS)/.npm-installed
	@command -v redis-server >/dev/null || { \
		echo "installing redis-server (apt)"; \
		$(SUDO) apt-get install -y -q redis-server >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q redis-server >/dev/null; }; }
	@command -v redis-server >/dev/null || { echo "redis-server could not be installed: install the Debian package redis-server"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17+ is required for DynamoDB Local: apt-get install openjdk-17-jre-headless"; exit 1; }

$(TOOLS)/.npm-installed: Makefile
	@command -v npm >/dev/null || { echo "npm (Node.js 18+) is required for s3rver and DynamoDB Local: apt-get install nodejs npm"; exit 1; }
	mkdir -p $(TOOLS)
	npm install --prefix $(TOOLS) --no-save --no-audit --no-fund --loglevel=error $(NPM_PACKAGES)
	touch $@
