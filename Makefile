# The shop's commands. `make dev` runs the shop locally on real servers; `make test` runs
# every test. Both install what is missing first (redis-server through apt, the npm packages
# for DynamoDB Local and s3rver into .tools/, which git ignores).

SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools
NPM_PACKAGES := amplify-dynamodb-simulator@2.9.30 s3rver@3.7.1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export SHOP_TOOLS_DIR := $(TOOLS)

.PHONY: dev test bench tools vet infra-test snapshots package storefront storefront-test storefront-unit storefront-e2e chromium

## dev: run the shop locally (ADDR=127.0.0.1:8080) and the storefront
## (SITE_ADDR=127.0.0.1:5173) until Ctrl-C; the functions run as their bootstrap binaries
## under aws-lambda-rie (SHOP_RUNTIME=inprocess: their handlers in one process)
dev: tools storefront
	$(GO) run ./functions/local/dev

## test: every test, against real local servers and in a real browser
test: tools vet lint-workflows storefront-test
	$(GO) test -count=1 -timeout 40m ./...

## storefront: build storefront/dist when its sources or lock file changed
storefront: storefront/dist/index.html

STOREFRONT_SOURCES := $(shell find storefront/src storefront/public -type f 2>/dev/null) \
	storefront/index.html storefront/package.json storefront/vite.config.ts storefront/tsconfig.json

storefront/node_modules/.installed: storefront/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20.19+) is required for the storefront: apt-get install nodejs npm"; exit 1; }
	cd storefront && npm ci --no-audit --no-fund --loglevel=error
	touch $@

storefront/dist/index.html: storefront/node_modules/.installed $(STOREFRONT_SOURCES)
	cd storefront && npm run build
	touch $@

## storefront-test: the storefront's unit tests (Vitest) and browser tests (Chromium)
storefront-test: storefront-unit storefront-e2e

storefront-unit: storefront/node_modules/.installed
	cd storefront && npx vitest run

## storefront-e2e: Chromium drives the storefront on a seeded local stage (functions/local/sitestage);
## screenshots of every page land in storefront/e2e/screenshots (git-ignored)
storefront-e2e: tools storefront chromium
	$(GO) build -o $(CURDIR)/.build/sitestage ./functions/local/sitestage
	cd storefront && SITESTAGE=$(CURDIR)/.build/sitestage SITE_DIR=$(CURDIR)/storefront/dist npm run e2e

## chromium: Debian's chromium for the browser tests, through apt when missing
chromium:
	@[ -x /usr/bin/chromium ] || { \
		echo "installing chromium (apt)"; \
		$(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium >/dev/null; }; }
	@[ -x /usr/bin/chromium ] || { echo "chromium could not be installed: install the Debian package chromium"; exit 1; }

## bench: measure speed and concurrency against same-run references (under 10 minutes);
## writes $(BENCH_REPORT) and a latency plot beside it
BENCH_REPORT ?= bench-report.json
# Lighthouse for the storefront scenario, in its own folder of .tools/.
LIGHTHOUSE_VERSION := 12.2.3
bench: tools storefront chromium $(TOOLS)/lighthouse/.installed-$(LIGHTHOUSE_VERSION)
	BENCH_REPORT=$(BENCH_REPORT) $(GO) run ./functions/local/bench

$(TOOLS)/lighthouse/.installed-$(LIGHTHOUSE_VERSION):
	mkdir -p $(TOOLS)/lighthouse
	npm install --prefix $(TOOLS)/lighthouse --no-save --no-audit --no-fund --loglevel=error lighthouse@$(LIGHTHOUSE_VERSION)
	touch $@

## infra-test: the Pulumi program under mocks: components, graph snapshots, policy tests
infra-test:
	$(GO) test -count=1 ./components/... ./stacks/...

## snapshots: rewrite stacks/testdata/<stack>.graph.json after an intended infrastructure change
snapshots:
	$(GO) test -count=1 ./stacks/... -update

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

## aws-lambda-rie: AWS's Lambda Runtime Interface Emulator (pinned, built from the Go module
## proxy into .tools/bin), in which the local stage's Lambda mode runs each function
# Prerequisite lists expand when make reads them: define these before the rules that use them.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
REDOC_BUNDLE := $(TOOLS)/redoc/redoc.standalone.js
$(TOOLS)/bin/.aws-lambda-rie-$(RIE_VERSION):
	GOBIN=$(TOOLS)/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	touch $@

## tools: install the local servers, the API reference's viewer and the Lambda emulator when missing
tools: $(TOOLS)/.npm-installed $(REDOC_BUNDLE) $(TOOLS)/bin/.aws-lambda-rie-$(RIE_VERSION)
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

## The API reference's viewer on the local stage (/_local/docs): Redoc's standalone bundle,
## taken from the npm package of exactly this version, whose tarball must match this
## integrity (the registry's dist.integrity). Served from the stage's origin, no CDN.
REDOC_VERSION := 2.5.4
REDOC_INTEGRITY := sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==
$(REDOC_BUNDLE): Makefile
	rm -rf $(TOOLS)/redoc && mkdir -p $(TOOLS)/redoc
	cd $(TOOLS)/redoc && npm pack --silent --pack-destination . redoc@$(REDOC_VERSION) >/dev/null
	@got="sha512-$$(openssl dgst -sha512 -binary $(TOOLS)/redoc/redoc-$(REDOC_VERSION).tgz | base64 -w0)"; \
	if [ "$$got" != "$(REDOC_INTEGRITY)" ]; then echo "redoc $(REDOC_VERSION): integrity $$got, want $(REDOC_INTEGRITY)"; exit 1; fi
	tar -xzf $(TOOLS)/redoc/redoc-$(REDOC_VERSION).tgz -C $(TOOLS)/redoc --strip-components=2 package/bundles/redoc.standalone.js
	rm $(TOOLS)/redoc/redoc-$(REDOC_VERSION).tgz

## openapi-diff BASE=<git revision>: the OpenAPI document's diff against BASE and the
## breaking changes oasdiff finds (pinned, built from the Go module proxy into .tools/bin)
OASDIFF_VERSION := v1.38.0
.PHONY: openapi-diff
openapi-diff: $(TOOLS)/bin/.oasdiff-$(OASDIFF_VERSION)
	OASDIFF=$(TOOLS)/bin/oasdiff .github/scripts/openapi-diff.sh $(BASE)

$(TOOLS)/bin/.oasdiff-$(OASDIFF_VERSION):
	GOBIN=$(TOOLS)/bin $(GO) install github.com/oasdiff/oasdiff@$(OASDIFF_VERSION)
	touch $@
