#!/usr/bin/env bash
# Runs one estimator instance against the local stack: `estimator/scripts/run.sh <instance-id> [metrics-port]`.
# Reads KAFKA_BROKERS and SCHEMA_REGISTRY_URL from .stack/stack.env (written by `bun run stack up`); any
# variable already set in the environment wins, so ESTIMATE_DELAY_SECONDS=5 scripts/run.sh 1 works.
# Two instances for the end-to-end suites: `run.sh 1 9101 & run.sh 2 9102 &` (same group, own transactional ids).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
stack_env="${STACK_ENV_FILE:-$root/.stack/stack.env}"

if [[ $# -lt 1 ]]; then
  echo "usage: $0 <instance-id> [metrics-port]" >&2
  exit 2
fi
if [[ ! -f "$stack_env" ]]; then
  echo "the local stack is not up ($stack_env is missing): run \`bun run stack up\` first" >&2
  exit 2
fi
if [[ ! -x "$here/.venv/bin/python" ]]; then
  echo "estimator/.venv is missing: run estimator/scripts/setup.sh first" >&2
  exit 2
fi

for name in KAFKA_BROKERS SCHEMA_REGISTRY_URL; do
  if [[ -z "${!name:-}" ]]; then
    value="$(grep -E "^${name}=" "$stack_env" | tail -1 | cut -d= -f2- || true)"
    if [[ -z "$value" ]]; then
      echo "$stack_env has no $name: is the stack fully up? (\`bun run stack status\`)" >&2
      exit 2
    fi
    export "$name=$value"
  fi
done

export INSTANCE_ID="$1"
export METRICS_PORT="${2:-${METRICS_PORT:-9101}}"
export CONTRACTS_DIR="${CONTRACTS_DIR:-$root/packages/contracts/schemas}"
cd "$here"
exec "$here/.venv/bin/python" -m estimator
