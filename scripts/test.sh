#!/usr/bin/env bash
# Every test: installs what is missing (the first time: scripts/bootstrap.sh, as root on Debian 12), then
# `bun run test` (static checks, the local stack up, unit, integration, end-to-end, estimator, component
# fault and lifecycle suites). Arguments go to `bun run test` (e.g. `fault` for the fault suites only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
# shellcheck source=scripts/toolchains.sh
source scripts/toolchains.sh
exec bun scripts/test.ts "$@"
