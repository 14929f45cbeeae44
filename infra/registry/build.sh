#!/usr/bin/env bash
# Produce a runnable Apicurio Registry (Quarkus fast-jar) in a cache folder and print the absolute
# path of its quarkus-run.jar as the last line of stdout. Everything else goes to stderr.
#
#   infra/registry/build.sh [cache-dir]      (or REGISTRY_CACHE_DIR; default <repo>/.stack/registry)
#
# Idempotent: a complete unpack is marked by a stamp file, and a second run only prints the path.
# The unpack goes to a temporary folder that is renamed at the end, so an interrupted run never
# leaves a half-written tree that looks complete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
cache_dir="${1:-${REGISTRY_CACHE_DIR:-$repo_root/.stack/registry}}"
mkdir -p "$cache_dir"
cache_dir="$(cd "$cache_dir" && pwd)"

# The pom is the single source of the version.
version="$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$here/pom.xml")"
if [[ -z "$version" ]]; then
  echo "build.sh: cannot read <apicurio.version> from $here/pom.xml" >&2
  exit 1
fi

dest="$cache_dir/apicurio-registry-$version"
jar="$dest/quarkus-run.jar"
stamp="$dest/.complete"

if [[ -f "$stamp" && -f "$jar" ]]; then
  echo "build.sh: Apicurio Registry $version already in $dest" >&2
  echo "$jar"
  exit 0
fi

if ! command -v mvn >/dev/null 2>&1; then
  echo "build.sh: mvn not found on PATH (Debian package: maven)" >&2
  exit 1
fi

tmp="$cache_dir/.apicurio-registry-$version.partial"
rm -rf "$tmp"
echo "build.sh: fetching io.apicurio:apicurio-registry-app:$version (classifier all) into $dest" >&2
# --strict-checksums: refuse an artifact whose checksum does not match the repository's.
# Maven only downloads and unpacks, so it runs on the Java Debian's maven package depends on (17), not
# on the registry's: that one uses the machine's certificate store (/etc/ssl/certs/java), where a
# runtime fetched by scripts/fetch-toolchains.sh knows only its bundled CAs and fails behind a TLS proxy.
mvn --batch-mode --quiet --strict-checksums -Dstyle.color=never \
  --file "$here/pom.xml" package \
  "-Dregistry.outputDirectory=$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2

if [[ ! -f "$tmp/quarkus-run.jar" ]]; then
  echo "build.sh: unpack finished but $tmp/quarkus-run.jar is missing" >&2
  exit 1
fi
touch "$tmp/.complete"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "build.sh: Apicurio Registry $version ready" >&2
echo "$jar"
