#!/usr/bin/env bash
# Run the chat app on http://127.0.0.1:8501 (sets itself up and builds the index first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure-index.sh
exec .venv/bin/python -m streamlit run ui/app.py \
  --server.address "${ASSISTANT_HOST:-127.0.0.1}" --server.port "${ASSISTANT_PORT:-8501}" \
  --server.headless true --browser.gatherUsageStats false
