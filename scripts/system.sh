#!/usr/bin/env bash
# The whole system without Docker, in the foreground until Ctrl-C: installs what is missing (the first
# time: scripts/bootstrap.sh, as root on Debian 12), brings the local stack up, starts and supervises the
# services and prints their URLs. Arguments go to `bun run system` (`--fresh`, `--delay <seconds>`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
# shellcheck source=scripts/toolchains.sh
source scripts/toolchains.sh
exec bun scripts/system.ts "$@"
