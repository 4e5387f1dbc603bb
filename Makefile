# Steller developer commands. `make help` lists them.

EMULATOR := infra/emulator/run-with-emulator.sh
EMULATOR_PORT ?= 5005
# schemathesis (pinned, into .venv) against the local server, started on a free port.
CONTRACT := infra/contract/schemathesis.sh
# Installs Debian's chromium and chromium-driver for the browser tests when missing.
BROWSER := infra/browser/ensure.sh
# Runs sam / cfn-lint from .venv-deploy/, installing infra/deploy/requirements.txt first.
DEPLOY_TOOLS := infra/deploy/tools.sh
# Where cargo puts the release binaries the bench runs.
BENCH_BIN_DIR := $(or $(CARGO_TARGET_DIR),target)/release
# validate needs a region but no credentials; any region validates the same template.
AWS_REGION ?= us-east-1

.DEFAULT_GOAL := help
.PHONY: help test test-fast test-aws contract lint fmt dev emulator validate build bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

test: ## all tests, with the AWS emulator suite on moto (installed into .venv), the browser tests (Chromium via apt), then the contract run
	$(BROWSER)
	$(EMULATOR) cargo test --workspace --all-features
	$(CONTRACT)

contract: ## schemathesis against the local server: every check and phase, a partner key then an ops key (docs/qa.md)
	$(CONTRACT)

test-aws: ## the suite against STELLER_TEST_AWS_ENDPOINT (LocalStack, moto), starting nothing
	@if [ -z "$(STELLER_TEST_AWS_ENDPOINT)" ]; then \
		echo "test-aws: STELLER_TEST_AWS_ENDPOINT is not set; start an emulator and point at it, e.g." >&2; \
		echo "  docker compose -f infra/emulator/docker-compose.localstack.yml up -d --wait" >&2; \
		echo "  make test-aws STELLER_TEST_AWS_ENDPOINT=http://localhost:4566" >&2; \
		echo "(or 'make emulator' in another terminal and STELLER_TEST_AWS_ENDPOINT=http://127.0.0.1:$(EMULATOR_PORT); docs/qa.md)" >&2; \
		exit 2; \
	fi
	STELLER_TEST_AWS_ENDPOINT='$(STELLER_TEST_AWS_ENDPOINT)' cargo test --workspace --all-features

test-fast: ## all tests without the emulator (tests needing it fail with a message)
	cargo test --workspace --all-features

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

fmt: ## format the code
	cargo fmt --all

validate: ## sam validate --lint on template.yaml (SAM CLI and cfn-lint pinned, into .venv-deploy)
	$(DEPLOY_TOOLS) sam validate --lint --template template.yaml --region $(AWS_REGION)

build: ## sam build: every function for arm64 via cargo-lambda and zig (pinned, into .venv-deploy); checks the artifacts
	infra/deploy/build.sh

dev: ## run the local server
	cargo run -p steller-local

emulator: ## run the emulator in the foreground on EMULATOR_PORT (default 5005)
	$(EMULATOR) --serve $(EMULATOR_PORT)

# Two cargo commands on purpose: a bare `cargo build` builds exactly the functions with
# their own features; building the runner with them would unify its `tooling` feature of
# steller into the Lambda binaries.
bench: ## cold starts and AWS calls of the release functions on moto, usage query, drain, hot wallet and local server in process; tables and target/bench/latest.json (docs/performance.md)
	cargo build --release --bins
	cargo build --release -p steller-bench --bins
	$(EMULATOR) $(BENCH_BIN_DIR)/steller-bench --bin-dir $(BENCH_BIN_DIR) --out target/bench/latest.json
