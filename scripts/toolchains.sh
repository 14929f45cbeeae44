# Sourced by the scripts that need Go or Bun: puts them on PATH wherever they were installed.
# scripts/fetch-toolchains.sh downloads a pinned one into $VEHICLES_CACHE/bin only when the machine has
# none good enough, so that folder comes first; /usr/local/go/bin (Go's own tarball layout) comes last.
VEHICLES_CACHE="${VEHICLES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vehicles}"
export VEHICLES_CACHE
export PATH="$VEHICLES_CACHE/bin:$PATH:/usr/local/go/bin"
