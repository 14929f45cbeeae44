#!/usr/bin/env bash
# Puts librdkafka where @vehicles/kafka loads it through bun:ffi: the shared library that the
# estimator's pinned confluent-kafka wheel ships (confluent_kafka.libs/librdkafka-*.so.1, linked
# against libc only), so TypeScript and Python run the same librdkafka. Obtained from PyPI only:
# `pip download` of exactly the wheel estimator/uv.lock pins, checked against the lock's sha256.
#
# Target: $LIBRDKAFKA_PATH, else ${XDG_CACHE_HOME:-~/.cache}/vehicles/librdkafka/<wheel version>/librdkafka.so.1
# (the module's default). Idempotent: present → nothing is downloaded.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

version="$(sed -n 's/.*"confluent-kafka==\([0-9.]*\)".*/\1/p' "$repo_root/estimator/pyproject.toml")"
[[ -n $version ]] || { echo "confluent-kafka pin not found in estimator/pyproject.toml" >&2; exit 1; }
target="${LIBRDKAFKA_PATH:-${XDG_CACHE_HOME:-$HOME/.cache}/vehicles/librdkafka/$version/librdkafka.so.1}"
if [[ -s $target ]]; then
  echo "librdkafka present: $target"
  exit 0
fi

# One wheel of the locked release for this machine (CPython 3.12 wheels exist for x86_64 and aarch64;
# the library inside does not depend on the Python version).
arch="$(uname -m)"
wheel="confluent_kafka-${version}-cp312-cp312-manylinux_2_28_${arch}.whl"
hash="$(grep -o "${wheel}\", hash = \"sha256:[0-9a-f]*" "$repo_root/estimator/uv.lock" | sed 's/.*sha256://' | head -1)"
[[ -n $hash ]] || { echo "$wheel is not in estimator/uv.lock" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "confluent-kafka==${version} --hash=sha256:${hash}" >"$work/requirements.txt"
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform "manylinux_2_28_${arch}" --python-version 3.12 --implementation cp \
  --require-hashes -r "$work/requirements.txt" -d "$work"

mkdir -p "$(dirname "$target")"
"$python" - "$work/$wheel" "$target" <<'PY'
import re, sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if re.fullmatch(r"confluent_kafka\.libs/librdkafka-[0-9a-f]+\.so\.1", n)]
    if len(names) != 1:
        sys.exit(f"expected one librdkafka in {wheel}, found {names}")
    with archive.open(names[0]) as source, open(target + ".part", "wb") as out:
        out.write(source.read())
PY
mv "$target.part" "$target"
echo "librdkafka from confluent-kafka ${version}: $target"
