#!/usr/bin/env bash
# Installs everything the tests need, then runs every test. README's test command; CI calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v node >/dev/null || need_apt+=(nodejs npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v nmap >/dev/null || need_apt+=(nmap)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
npm ci --prefix tests/js --no-audit --no-fund --silent

pytest "$@"
