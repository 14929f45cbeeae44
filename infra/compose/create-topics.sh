#!/usr/bin/env bash
# compose's one-shot `topics-init`: create every topic of infra/topics.json (generated from the one
# topic definition, packages/contracts/src/topics.ts), then check that what the cluster has matches
# it, and exit.
#
#   TOPICS_FILE=/init/topics.json BOOTSTRAP_SERVERS=kafka-1:9092,... bash create-topics.sh
#   DRY_RUN=1 TOPICS_FILE=infra/topics.json bash create-topics.sh   # print the plan, touch nothing
#
# The Confluent image has neither jq nor python, so the file is read with bash alone. It accepts the
# shape infra/topics.json has and refuses anything else loudly rather than guessing:
#   { "defaults": { "partitions": N, "replicationFactor": N, "configs": { "k": "v", ... } },
#     "topics": [ { "name": "...", optional "partitions" / "replicationFactor" / "configs" }, ... ] }
# (an event topic's "dlq" names its dead-letter topic, which is listed as a topic of its own).
# Kafka topic names and config values carry no whitespace, so all whitespace is dropped first.
set -euo pipefail

file="${TOPICS_FILE:-/init/topics.json}"
bootstrap="${BOOTSTRAP_SERVERS:-}"
dry_run="${DRY_RUN:-}"

die() {
  echo "create-topics: $*" >&2
  exit 1
}

[[ -r "$file" ]] || die "cannot read $file"
[[ -n "$dry_run" || -n "$bootstrap" ]] || die "BOOTSTRAP_SERVERS is not set"

json="$(<"$file")"
json="${json//[[:space:]]/}"

# An object body with at most one nested object (the "configs" map).
object_re='\{([^{}]*(\{[^{}]*\})?[^{}]*)\}'

[[ "$json" =~ \"defaults\":$object_re ]] || die "$file has no \"defaults\" object"
defaults="${BASH_REMATCH[1]}"
[[ "$json" =~ \"topics\":\[(.*)$ ]] || die "$file has no \"topics\" array"
rest="${BASH_REMATCH[1]}"

# number <object body> <key> <fallback>
number() {
  if [[ "$1" =~ \"$2\":([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ "$1" == *\"$2\":* ]]; then
    die "\"$2\" must be a positive integer in {$1}"
  else
    echo "$3"
  fi
}

# configs <object body>: prints one key=value per line (values may be JSON strings or numbers).
configs() {
  [[ "$1" =~ \"configs\":\{([^{}]*)\} ]] || return 0
  local pairs="${BASH_REMATCH[1]}" pair_re='^"([A-Za-z0-9._-]+)":("([^"]*)"|([0-9.]+|true|false)),?(.*)$'
  while [[ -n "$pairs" ]]; do
    [[ "$pairs" =~ $pair_re ]] || die "cannot read configs {${1}}"
    echo "${BASH_REMATCH[1]}=${BASH_REMATCH[3]}${BASH_REMATCH[4]}"
    pairs="${BASH_REMATCH[5]}"
  done
}

default_partitions="$(number "$defaults" partitions 0)"
default_rf="$(number "$defaults" replicationFactor 0)"
# Captured first (not `< <(...)`) so that a refusal inside stops the script.
default_config_text="$(configs "$defaults")"
mapfile -t default_configs <<<"$default_config_text"

names=()
plans=()
while [[ "$rest" =~ ^$object_re,?(.*)$ ]]; do
  topic="${BASH_REMATCH[1]}"
  rest="${BASH_REMATCH[3]}"
  [[ "$topic" =~ \"name\":\"([A-Za-z0-9._-]+)\" ]] || die "a topic without a valid \"name\": {$topic}"
  name="${BASH_REMATCH[1]}"
  partitions="$(number "$topic" partitions "$default_partitions")"
  rf="$(number "$topic" replicationFactor "$default_rf")"
  ((partitions > 0)) || die "$name: no partitions (neither the topic nor the defaults set them)"
  ((rf > 0)) || die "$name: no replicationFactor (neither the topic nor the defaults set it)"
  # Topic configs override the defaults key by key.
  declare -A merged=()
  keys=()
  own_text="$(configs "$topic")"
  mapfile -t own <<<"$own_text"
  for entry in "${default_configs[@]}" "${own[@]}"; do
    [[ -n "$entry" ]] || continue
    key="${entry%%=*}"
    [[ -v "merged[$key]" ]] || keys+=("$key")
    merged["$key"]="${entry#*=}"
  done
  config_args=()
  for key in "${keys[@]}"; do config_args+=(--config "$key=${merged[$key]}"); done
  unset merged
  names+=("$name")
  plans+=("$name $partitions $rf ${config_args[*]}")
  if [[ -n "$dry_run" ]]; then
    echo "create $name partitions=$partitions replicationFactor=$rf ${config_args[*]}"
    continue
  fi
  echo "create-topics: $name (partitions $partitions, replication factor $rf${config_args:+, ${config_args[*]}})"
  kafka-topics --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
    --partitions "$partitions" --replication-factor "$rf" "${config_args[@]}"
done
[[ "$rest" == "]}" || "$rest" == "]" || "$rest" == "],"* ]] || die "cannot read the topics array near: ${rest:0:60}"
((${#names[@]} > 0)) || die "$file lists no topics"
[[ -z "$dry_run" ]] || exit 0

# --if-not-exists keeps an existing topic as it is: say so loudly when it differs from the definition
# (e.g. a volume left from an older layout) instead of letting services run on the wrong shape.
description="$(kafka-topics --bootstrap-server "$bootstrap" --describe)"
status=0
for plan in "${plans[@]}"; do
  read -r name partitions rf _ <<<"$plan"
  line_re="Topic:[[:space:]]*${name//./\\.}[[:space:]].*PartitionCount:[[:space:]]*([0-9]+).*ReplicationFactor:[[:space:]]*([0-9]+)"
  found=""
  while IFS= read -r line; do
    if [[ "$line" =~ $line_re ]]; then
      found="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
      break
    fi
  done <<<"$description"
  if [[ "$found" != "$partitions $rf" ]]; then
    echo "create-topics: $name has '${found:-nothing}' (partitions replication), expected '$partitions $rf'" >&2
    status=1
  fi
done
((status == 0)) && echo "create-topics: ${#names[@]} topics match $file"
exit "$status"
