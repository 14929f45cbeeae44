#!/bin/sh
# Like the upstream Bun image's entrypoint: a first argument that is an option or not a command is
# handed to bun; anything else runs as given.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ]; then
  set -- bun "$@"
fi
exec "$@"
