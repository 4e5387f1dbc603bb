# Steller developer commands. `make help` lists them.

EMULATOR := infra/emulator/run-with-emulator.sh
EMULATOR_PORT ?= 5005

.DEFAULT_GOAL := help
.PHONY: help test test-fast lint fmt dev emulator

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

test: ## all tests, with the AWS emulator suite on moto (installed into .venv)
	$(EMULATOR) cargo test --workspace --all-features

test-fast: ## all tests without the emulator (tests needing it fail with a message)
	cargo test --workspace --all-features

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

fmt: ## format the code
	cargo fmt --all

dev: ## run the local server
	cargo run -p steller-local

emulator: ## run the emulator in the foreground on EMULATOR_PORT (default 5005)
	$(EMULATOR) --serve $(EMULATOR_PORT)
