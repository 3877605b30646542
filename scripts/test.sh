#!/usr/bin/env bash
# Run every check: lint, the test suite (real model, real PDFs, real index, headless
# Chromium), then the evaluation gate. Sets itself up on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the end-to-end UI test drives Debian's Chromium; install it where we can (CI runs as root)
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian chromium for the browser test ..." >&2
  apt-get update -qq >/dev/null && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# axe-core for the browser test's accessibility check, from the committed package-lock.json
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian npm for the accessibility check ..." >&2
    apt-get update -qq >/dev/null && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  npm ci --no-audit --no-fund --silent
fi
.venv/bin/ruff check assistant ui tests bench
.venv/bin/python -m pytest -q "$@"
bash scripts/ensure-index.sh
.venv/bin/assistant eval
