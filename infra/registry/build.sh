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

# Temurin 25 where installed, else the Java 21 that scripts/fetch-toolchains.sh fetched.
java_home="${REGISTRY_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
fetched="${VEHICLES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vehicles}/java-21"
[[ -n "${REGISTRY_JAVA_HOME:-}" || -x "$java_home/bin/java" || ! -x "$fetched/bin/java" ]] || java_home="$fetched"
if [[ ! -x "$java_home/bin/java" ]]; then
  echo "build.sh: no java at $java_home/bin/java (set REGISTRY_JAVA_HOME to a Java 21+)" >&2
  exit 1
fi
java_major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$java_home/release" 2>/dev/null || true)"
if ! command -v mvn >/dev/null 2>&1; then
  echo "build.sh: mvn not found on PATH (Debian package: maven)" >&2
  exit 1
fi

tmp="$cache_dir/.apicurio-registry-$version.partial"
rm -rf "$tmp"
echo "build.sh: fetching io.apicurio:apicurio-registry-app:$version (classifier all) into $dest" >&2
# --strict-checksums: refuse an artifact whose checksum does not match the repository's.
# MAVEN_OPTS: Maven 3.8's bundled Guava uses sun.misc.Unsafe, which JDK 24+ warns about on every run;
# Javas before 23 do not know the option and refuse to start with it.
maven_opts="${MAVEN_OPTS:-}"
((${java_major:-0} < 23)) || maven_opts+=" --sun-misc-unsafe-memory-access=allow"
JAVA_HOME="$java_home" MAVEN_OPTS="$maven_opts" \
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
