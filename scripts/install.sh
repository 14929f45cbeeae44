#!/usr/bin/env bash
# Installs what is missing, fast when nothing is: runs scripts/bootstrap.sh (as root the first time on a
# fresh Debian 12) unless it already succeeded for exactly these inputs, which a stamp file records. The
# inputs are the files bootstrap installs from, plus what must exist afterwards, so a changed lockfile or
# a deleted virtualenv runs it again. `--force` runs it whatever the stamp says.
# Used by scripts/system.sh and scripts/test.sh (the README's two commands) and by .ci/run.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/toolchains.sh
source scripts/toolchains.sh
stamp="${STACK_DIR:-$repo_root/.stack}/bootstrap.stamp"

digest() {
  {
    sha256sum scripts/bootstrap.sh scripts/fetch-toolchains.sh scripts/toolchains.sh bun.lock package.json estimator/uv.lock estimator/pyproject.toml \
      estimator/scripts/setup.sh tests/fuzz/requirements.txt tests/fuzz/setup.sh \
      infra/compose/install-compose.sh 2>&1
    bun --version 2>&1 || true
    go env GOVERSION 2>&1 || true
    ls -d node_modules estimator/.venv/bin/python 2>&1
  } | sha256sum | cut -d' ' -f1
}

if [[ ${1:-} != --force && -f $stamp && "$(cat "$stamp")" == "$(digest)" ]]; then
  exit 0
fi
bash scripts/bootstrap.sh
mkdir -p "$(dirname "$stamp")"
digest >"$stamp"
