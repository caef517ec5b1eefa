#!/usr/bin/env bash
# One command, fresh machine: install everything the tests need (the tested versions of constraints.txt), then
# run them. OPENSEEKER_DEPS=latest bash scripts/test.sh tries the newest releases within pyproject's bounds instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
# The viewer's browser tests fail rather than skip here when chromium is missing (install.sh --dev installs it as
# root); on a machine where it cannot be installed, OPENSEEKER_REQUIRE_BROWSER=0 lets them skip, saying why.
export OPENSEEKER_REQUIRE_BROWSER=${OPENSEEKER_REQUIRE_BROWSER:-1}
# the house rules first (pyproject.toml: ruff's rules and formatter, mypy on the checked core): seconds, not minutes
"${PYTHON:-python3}" -m ruff check --quiet .
"${PYTHON:-python3}" -m ruff format --check --quiet .
"${PYTHON:-python3}" -m mypy  # the checked core: [tool.mypy] files in pyproject.toml
exec "${PYTHON:-python3}" -m pytest -q "$@"
