#!/usr/bin/env bash
# Build the index from corpus/ if there is none yet (with a progress bar).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "import sys; from assistant.config import Settings; from assistant.search.index import current_build; sys.exit(current_build(Settings.from_env().index_dir) is None)"; then
  echo "No index yet: building it from corpus/ ..." >&2
  .venv/bin/assistant ingest
fi
