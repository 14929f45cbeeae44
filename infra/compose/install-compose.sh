#!/usr/bin/env bash
# Make `docker compose` available as a docker CLI plugin, for the static compose checks
# (tests/compose). There is no Docker engine on the development machines or in CI, and no docker client
# on a fresh one; `docker compose config` needs only the plugin, which also runs on its own.
#
#   infra/compose/install-compose.sh            # idempotent; prints the plugin's version
#
# The plugin is built from its Go module source (the Go module proxy is the only place it can come
# from here). `go install pkg@version` refuses modules whose go.mod has replace/exclude directives, as
# compose's does, so the module is downloaded and built as the main module instead. ~5 min on 2 cores
# the first time; the Go build cache makes a rebuild quick, and an existing plugin of the pinned
# version is kept.
set -euo pipefail

COMPOSE_VERSION="v2.40.3"
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
plugin="$plugin_dir/docker-compose"

if [[ -x "$plugin" ]] && "$plugin" version --short 2>/dev/null | grep -qx "${COMPOSE_VERSION#v}"; then
  "$plugin" version
  exit 0
fi

command -v go >/dev/null || { echo "install-compose: go is not on PATH" >&2; exit 1; }

module="github.com/docker/compose/v2@$COMPOSE_VERSION"
src="$(GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$src" && -d "$src" ]] || { echo "install-compose: could not download $module" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The module cache is read-only; build from a writable copy.
cp -r "$src/." "$work/"
chmod -R u+w "$work"
mkdir -p "$plugin_dir"
echo "install-compose: building docker compose $COMPOSE_VERSION (first time: several minutes)" >&2
(cd "$work" && go build -buildvcs=false -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
  -o "$plugin.partial" ./cmd)
mv "$plugin.partial" "$plugin"
"$plugin" version
