# Plugin Marketplace: `make run` starts everything, `make test` runs every test.
SERVICES := gateway catalog-service install-service review-service webhook-service web
PACKAGES := shared $(SERVICES) sdk/python
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
COMPOSE ?= docker-compose

.DEFAULT_GOAL := help
.PHONY: help install run test unit e2e fuzz lint seed bench up down compose-check check-services clean openapi tools k8s-check sdk-typescript sdk-go screenshots

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a pyproject changed.
$(VENV)/.installed: $(PY) $(wildcard */pyproject.toml sdk/python/pyproject.toml) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt $(foreach p,$(wildcard $(PACKAGES)),-e ./$(p))
	@touch $@

install: $(VENV)/.installed ## Create .venv and install every package (editable) and the test tools

run: install ## Start the whole system on http://127.0.0.1:8080 (Ctrl-C stops it)
	$(PY) scripts/stack.py run

tools: ## Install what the other languages' tests need (Node, Go, Chromium, Java clients) when missing
	scripts/ensure_tools.sh node go chromium java-clients

check-services: install ## Fail unless PostgreSQL and RabbitMQ answer (tests need the real ones)
	$(PY) scripts/check_services.py

lint: install ## ruff over every package
	$(VENV)/bin/ruff check .

unit: install check-services ## Unit and integration tests of the shared library and every service
	$(PY) -m pytest $(PYTEST_ARGS) shared/tests $(foreach s,$(SERVICES),$(wildcard $(s)/tests)) $(wildcard sdk/python/tests) deploy/tests

e2e: install check-services ## End-to-end tests: real processes, driven through the gateway only
	$(PY) -m pytest $(PYTEST_ARGS) tests-e2e

test: install tools lint check-services sdk-typescript sdk-go ## Lint, then every test (unit, integration, end-to-end) in one run
	$(PY) -m pytest $(PYTEST_ARGS) shared/tests $(foreach s,$(SERVICES),$(wildcard $(s)/tests)) $(wildcard sdk/python/tests) deploy/tests tests-e2e

fuzz: install check-services ## The contract fuzz test with many more examples (FUZZ_EXAMPLES, default 200; FUZZ_SEED=random)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_SEED=$${FUZZ_SEED:-random} FUZZ_TIMEOUT=$${FUZZ_TIMEOUT:-3600} \
		$(PY) -m pytest $(PYTEST_ARGS) tests-e2e/test_contract_fuzz.py

openapi: install ## Regenerate docs/openapi.json (the merged public document) from the services' schemas, and the TypeScript SDK's types
	$(PY) scripts/openapi.py
	scripts/ensure_tools.sh node
	cd sdk/typescript && { [ -d node_modules/openapi-typescript ] || npm ci --no-audit --no-fund; } && npm run --silent generate
	scripts/ensure_tools.sh go
	cd sdk/go && $(GO_ENV) go generate ./...

# Go builds offline: the SDK and the e2e program need nothing but the standard library.
GO_ENV := GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local

sdk-go: ## The Go SDK (sdk/go): gofmt, go vet, go test -race (Go from Debian's golang-go when missing)
	scripts/ensure_tools.sh go
	cd sdk/go && unformatted="$$(gofmt -l .)" && { [ -z "$$unformatted" ] || { echo "gofmt needed: $$unformatted"; exit 1; }; }
	cd sdk/go && $(GO_ENV) go vet ./... && $(GO_ENV) go test -race -count=1 ./...

sdk-typescript: ## The TypeScript SDK (sdk/typescript): npm ci from the lockfile, build, unit tests and type checks
	scripts/ensure_tools.sh node
	cd sdk/typescript && npm ci --no-audit --no-fund && npm run build && npm test

screenshots: install check-services tools ## Rewrite docs/screenshots/*.png (the README's) from the portal's browser tests
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest $(PYTEST_ARGS) tests-e2e/test_portal_browser.py tests-e2e/test_portal_reviews.py \
		tests-e2e/test_portal_publisher.py tests-e2e/test_portal_webhooks.py tests-e2e/test_portal_admin.py

seed: install ## Load the demo catalog through the public API of a running system (make run)
	$(PY) scripts/seed.py

bench: install check-services ## Benchmarks (gateway overhead, catalog at scale, installs, webhooks)
	$(PY) scripts/bench.py

k8s-check: install ## Render the Kubernetes overlays (kubectl kustomize) and validate them offline
	$(PY) -m pytest $(PYTEST_ARGS) deploy/tests

compose-check: ## Validate docker-compose.yml
	$(COMPOSE) -f docker-compose.yml config -q

up: ## Start the production shape with Docker Compose
	$(COMPOSE) up -d --build

down: ## Stop the Compose stack
	$(COMPOSE) down

clean: ## Remove local state (SQLite files, artifacts, logs)
	rm -rf var
