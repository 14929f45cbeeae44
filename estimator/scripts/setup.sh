#!/usr/bin/env bash
# Creates estimator/.venv with the machine's python3 and installs exactly what uv.lock pins, plus the
# package itself in editable mode. Idempotent: a second run only checks that the environment matches.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

UV_VERSION="0.13.9"
PYTHON="${PYTHON:-python3}"

if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi

# uv installs from the lock; it is itself pinned (and listed in the lock's dev group so sync keeps it).
if [[ "$(.venv/bin/uv --version 2>/dev/null | awk '{print $2}')" != "$UV_VERSION" ]]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
fi

export UV_PYTHON_DOWNLOADS=never
export UV_PROJECT_ENVIRONMENT="$here/.venv"
# --frozen: install what uv.lock says, never re-resolve; fails if the lock is missing.
.venv/bin/uv sync --frozen --python .venv/bin/python --quiet

.venv/bin/python -c 'import confluent_kafka, jsonschema, estimator; print("estimator environment ready, librdkafka", confluent_kafka.libversion()[0])'
