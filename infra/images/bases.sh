#!/usr/bin/env bash
# Builds the STAND-IN base images the three service Dockerfiles start FROM, under exactly the tags they
# name (oven/bun:<v>, oven/bun:<v>-slim, python:3.11.<n>-slim-bookworm), because Docker Hub, where the real
# ones live, is unreachable here. See infra/images/README.md for what differs from upstream.
#
#   DOCKER_HOST=unix://... infra/images/bases.sh      # idempotent; layers are cached by the engine
#
# A base tag that already exists WITHOUT the `vehicles.stand-in` label (a real upstream image someone
# loaded) is left alone and used as it is.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo_root/infra/images"
dir="${VEHICLES_DOCKER_DIR:-/var/tmp/vehicles-docker}"
cache="$dir/cache"
mkdir -p "$cache"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
say() { echo "bases: $*" >&2; }

# The base tags, read from the Dockerfiles themselves.
mapfile -t froms < <(sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' \
  "$repo_root/packages/Dockerfile" "$repo_root/estimator/Dockerfile" | sort -u)
bun_tags=() python_tags=()
for image in "${froms[@]}"; do
  case "$image" in
    oven/bun:*) bun_tags+=("$image") ;;
    python:3.11.*-slim-bookworm) python_tags+=("$image") ;;
    *) say "no stand-in recipe for base image $image"; exit 1 ;;
  esac
done

stand_in_or_absent() {
  local label
  label="$(docker image inspect --format '{{ index .Config.Labels "vehicles.stand-in" }}' "$1" 2>/dev/null || true)"
  if docker image inspect "$1" >/dev/null 2>&1 && [[ "$label" != true ]]; then
    say "$1 exists and is not a stand-in: using it as it is"
    return 1
  fi
}

# 1. Debian bookworm, minimal, straight from the Debian archive.
if ! docker image inspect vehicles-stand-in/debian:bookworm >/dev/null 2>&1; then
  tarball="$cache/bookworm-minbase.tar"
  if [[ ! -s "$tarball" ]]; then
    command -v debootstrap >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
    rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
    say "debootstrap --variant=minbase bookworm from $mirror"
    start=$SECONDS
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
      { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # mktemp made the folder 0700, and the tar's "./" entry becomes the image's "/": a non-root USER
    # could then reach nothing ("stat /usr/local/bin/...: permission denied").
    chmod 0755 "$rootfs"
    tar -C "$rootfs" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
    say "debootstrap took $((SECONDS - start)) s"
  fi
  docker import --change 'CMD ["/bin/bash"]' "$tarball" vehicles-stand-in/debian:bookworm >/dev/null
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$ca_bundle" "$context/ca-certificates.crt"

# 2. Bun: the binary of the pinned platform package on npm (the package the `bun` npm package installs).
for tag in "${bun_tags[@]}"; do
  version="${tag#oven/bun:}"
  version="${version%-slim}"
  stand_in_or_absent "$tag" || continue
  binary="$cache/bun-$version"
  if [[ ! -x "$binary" ]]; then
    pack_dir="$(mktemp -d)"
    (cd "$pack_dir" && npm pack --silent "@oven/bun-linux-x64@$version" >/dev/null && tar -xzf ./*.tgz)
    install -m 0755 "$pack_dir/package/bin/bun" "$binary.partial" && mv "$binary.partial" "$binary"
    rm -rf "$pack_dir"
  fi
  cp "$binary" "$context/bun"
  install -m 0755 "$here/stand-ins/bun-entrypoint.sh" "$context/bun-entrypoint.sh"
  say "building $tag (stand-in)"
  docker build -q --network host -f "$here/stand-ins/bun.Dockerfile" -t "$tag" "$context" >/dev/null
  rm -f "$context/bun" "$context/bun-entrypoint.sh"
done

# 3. Python 3.11 from Debian.
for tag in "${python_tags[@]}"; do
  stand_in_or_absent "$tag" || continue
  say "building $tag (stand-in)"
  docker build -q --network host -f "$here/stand-ins/python.Dockerfile" -t "$tag" "$context" >/dev/null
done

docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(oven/bun|python|vehicles-stand-in/)' >&2 || true
