#!/usr/bin/env bash
# The container files' linters, part of `bun run check`:
#   hadolint (pinned, infra/compose/install-hadolint.sh) on the three service Dockerfiles and the
#   stand-in base images' Dockerfiles, failing on any finding, style level included;
#   dclint (pinned devDependency) on compose.yaml with infra/compose/dclint.yaml (what is off, and why).
# A suppression lives beside what it suppresses, with its reason.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

hadolint="$(bash infra/compose/install-hadolint.sh 2>/dev/null | tail -1)"
[[ -x "$hadolint" ]] || { echo "lint: hadolint did not install (run infra/compose/install-hadolint.sh)" >&2; exit 1; }
dockerfiles=(packages/Dockerfile estimator/Dockerfile infra/images/stand-ins/*.Dockerfile)
"$hadolint" --failure-threshold style "${dockerfiles[@]}"
echo "hadolint $("$hadolint" --version | grep -o '[0-9][0-9.]*' | head -1): ${#dockerfiles[@]} Dockerfiles clean"

./node_modules/.bin/dclint --config infra/compose/dclint.yaml --max-warnings 0 compose.yaml
echo "dclint $(./node_modules/.bin/dclint --version): compose.yaml clean"
