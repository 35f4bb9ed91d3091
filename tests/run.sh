#!/usr/bin/env bash
# Installs everything the tests need, then runs every test. README's test command; CI calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

pytest "$@"
