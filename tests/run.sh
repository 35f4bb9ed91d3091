#!/usr/bin/env bash
# README's test command; CI calls it. Installs what the tests need into a fresh virtualenv (so a
# package missing from the requirements files fails here, not on a user's machine), then runs
# every layer: tests/unit, tests/integration, tests/e2e. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v nmap >/dev/null || need_apt+=(nmap)
command -v openssl >/dev/null || need_apt+=(openssl)  # the alert tests' stand-in for Slack, Discord and Teams
command -v node >/dev/null || need_apt+=(nodejs npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# A new virtualenv every run, without the system's site-packages; pip's download cache is reused.
venv="${BUGHUNT_TEST_VENV:-.venv-test}"
started=$SECONDS
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
npm ci --prefix tests/js --no-audit --no-fund --silent
echo "tests/run.sh: fresh virtualenv $venv ready in $((SECONDS - started)) s"

# Two workers (BUGHUNT_TEST_WORKERS; 0: one process): most tests wait on processes, sockets and
# timers, so a second worker nearly halves the run on two cores; `-n 0` as an argument overrides.
exec "$venv/bin/python" -m pytest -n "${BUGHUNT_TEST_WORKERS:-2}" --dist loadgroup "$@"
