#!/usr/bin/env bash
# Installs schemathesis, exactly as tests/fuzz/requirements.txt pins it, into its own virtual environment
# .stack/fuzz-venv (outside the estimator's). Idempotent: when the environment was built from the same
# requirements file it only says so. PYTHON picks the interpreter (default python3, 3.9+).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${FUZZ_VENV:-$root/.stack/fuzz-venv}"
requirements="$root/tests/fuzz/requirements.txt"
stamp="$venv/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -x "$venv/bin/schemathesis" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "fuzz: $venv is up to date ($("$venv/bin/schemathesis" --version))"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  "$PYTHON" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv -r "$requirements"
echo "$want" > "$stamp"
echo "fuzz: installed $("$venv/bin/schemathesis" --version) into $venv"
