#!/usr/bin/env bash
# Start one Apicurio Registry instance in the foreground; `exec`s java so the caller's recorded pid
# is the JVM's own.
#
#   infra/registry/run.sh <instance 1..3> [http-port] [bootstrap-servers] [management-port]
#
#   http-port          default 18070 + instance  (18071..18073)
#   bootstrap-servers  default 127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094
#   management-port    default http-port + 50    (health: http://127.0.0.1:<management-port>/health/ready)
#
# Environment (all optional):
#   REGISTRY_CACHE_DIR   where build.sh unpacked the registry (default <repo>/.stack/registry)
#   REGISTRY_JAR         explicit path of quarkus-run.jar (overrides REGISTRY_CACHE_DIR)
#   REGISTRY_JAVA_HOME   a Java 21+ (default /usr/lib/jvm/temurin-25-jdk-amd64, else ~/.cache/vehicles/java-21)
#   REGISTRY_HEAP        max heap, java -Xmx syntax (default 128m)
#   REGISTRY_TOPIC       KafkaSQL journal topic (default kafkasql-journal, upstream's name); when set,
#                        the snapshots and events topics become <topic>-snapshots / <topic>-events, so
#                        a throwaway registry shares nothing with the stack's
#   REGISTRY_JAVA_OPTS   extra JVM options, appended last (they win), e.g. a -D override
#   REGISTRY_TOPIC_WAIT_SECONDS  how long instances 2..N wait for instance 1 to create the topics
#                        (default 180; needs kcat, skipped with a warning without it)
set -euo pipefail

usage() {
  echo "usage: $0 <instance 1..3> [http-port] [bootstrap-servers] [management-port]" >&2
  exit 2
}

instance="${1:-}"
[[ "$instance" =~ ^[1-9]$ ]] || usage
http_port="${2:-$((18070 + instance))}"
bootstrap="${3:-127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094}"
management_port="${4:-$((http_port + 50))}"
[[ "$http_port" =~ ^[0-9]+$ && "$management_port" =~ ^[0-9]+$ ]] || usage
[[ -n "$bootstrap" ]] || usage

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
cache_dir="${REGISTRY_CACHE_DIR:-$repo_root/.stack/registry}"
version="$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$here/pom.xml")"
jar="${REGISTRY_JAR:-$cache_dir/apicurio-registry-$version/quarkus-run.jar}"
if [[ ! -f "$jar" ]]; then
  echo "run.sh: $jar not found; run infra/registry/build.sh first" >&2
  exit 1
fi

java_home="${REGISTRY_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
# Without Temurin 25, the Java 21 that scripts/fetch-toolchains.sh fetched.
fetched="${VEHICLES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vehicles}/java-21"
[[ -n "${REGISTRY_JAVA_HOME:-}" || -x "$java_home/bin/java" || ! -x "$fetched/bin/java" ]] || java_home="$fetched"
java_major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$java_home/release" 2>/dev/null || true)"
if [[ ! -x "$java_home/bin/java" || -z "$java_major" || "$java_major" -lt 21 ]]; then
  echo "run.sh: Apicurio Registry $version needs Java 21+; $java_home is '${java_major:-not a JDK}'" >&2
  exit 1
fi

name="schema-registry-$instance"
# Per-instance scratch space (JVM temp files, snapshot and import work dirs) instead of shared /tmp.
work_dir="$cache_dir/instances/$instance"
mkdir -p "$work_dir"

jvm_opts=(
  "-Xmx${REGISTRY_HEAP:-128m}"
  -Xms32m
  -Xss512k
  -XX:+UseSerialGC
  -XX:MaxMetaspaceSize=160m
  -XX:ReservedCodeCacheSize=64m
  -XX:MaxDirectMemorySize=64m
  -XX:+ExitOnOutOfMemoryError
  -XX:TieredStopAtLevel=1
  "-Djava.io.tmpdir=$work_dir"
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager
)

topic_opts=()
topics=(kafkasql-journal kafkasql-snapshots registry-events)
if [[ -n "${REGISTRY_TOPIC:-}" ]]; then
  topics=("$REGISTRY_TOPIC" "$REGISTRY_TOPIC-snapshots" "$REGISTRY_TOPIC-events")
  topic_opts=(
    "-Dapicurio.kafkasql.topic=${topics[0]}"
    "-Dapicurio.kafkasql.snapshots.topic=${topics[1]}"
    "-Dapicurio.events.kafka.topic=${topics[2]}"
  )
fi

# Only instance 1 creates the topics. 3.3.3 treats losing the creation race as fatal (TopicExistsException
# from KafkaAdminUtil: the instance exits, or stays up with /health/ready and /health/live at 503 for good),
# so the others wait here until the topics exist. Once they exist this costs one metadata request each.
topic_exists() {
  local metadata
  metadata="$(kcat -b "$bootstrap" -L -J -t "$1" -m 5 2>/dev/null)" || return 1
  [[ "$metadata" == *'"partitions":[{'* ]]
}
if [[ "$instance" != 1 ]]; then
  if ! command -v kcat >/dev/null 2>&1; then
    echo "run.sh: kcat not found; not waiting for instance 1 to create ${topics[*]} (start it first)" >&2
  else
    deadline=$((SECONDS + ${REGISTRY_TOPIC_WAIT_SECONDS:-180}))
    for topic in "${topics[@]}"; do
      until topic_exists "$topic"; do
        if ((SECONDS >= deadline)); then
          echo "run.sh: topic $topic still missing on $bootstrap; start registry instance 1 first" >&2
          exit 1
        fi
        sleep 1
      done
    done
  fi
fi

# Word splitting is intended: REGISTRY_JAVA_OPTS is a space-separated option list.
# shellcheck disable=SC2206
extra_opts=(${REGISTRY_JAVA_OPTS:-})

registry_opts=(
  # Loopback only; health and metrics live on Quarkus' management interface (built in upstream).
  -Dquarkus.http.host=127.0.0.1
  "-Dquarkus.http.port=$http_port"
  -Dquarkus.management.host=127.0.0.1
  "-Dquarkus.management.port=$management_port"

  # Shared store: every instance replays the same Kafka journal into its own in-memory database.
  -Dapicurio.storage.kind=kafkasql
  "-Dapicurio.kafkasql.bootstrap.servers=$bootstrap"
  # One partition keeps the journal totally ordered. Replication factor is deliberately NOT set:
  # 3.3.3 forwards the Registry-only `apicurio.kafkasql.topic.replication.factor` key to Kafka as a
  # topic config and fails with "Unknown topic config name: replication.factor" (KafkaAdminUtil,
  # introduced by Apicurio/apicurio-registry#6911). Unset, it creates the topic with
  # RF = min(3, live brokers) and min.insync.replicas = RF - 1, i.e. RF 3 / min ISR 2 here when
  # all three brokers are up before the first registry starts.
  -Dapicurio.kafkasql.topic.partitions=1
  "-Dapicurio.kafkasql.consumer.group-prefix=$name-"
  # The start-up journal check polls until a poll comes back empty; with the upstream 5 s timeout
  # that alone costs ~15 s per start. Records still arrive as soon as they exist.
  -Dapicurio.kafkasql.consumer.poll.timeout=1000
  "-Dregistry.id=$name"
  "-Dapicurio.storage.snapshot.location=$work_dir"
  "-Dapicurio.import.work-dir=$work_dir"

  # Confluent-compatible behaviour: BACKWARD by configuration, so it holds from the
  # first start without anyone PUTting /config; canonical hashing so the same schema written by
  # TypeScript and Python (other whitespace, other key order) is one version.
  -Dapicurio.rules.global.compatibility=BACKWARD
  -Dapicurio.ccompat.use-canonical-hash=true

  # Nothing may call out: OpenTelemetry export off, no OIDC server; per-schema usage tracking (kept
  # inside the registry, not a phone-home) off because nothing here reads it.
  -Dquarkus.otel.sdk.disabled=true
  -Dquarkus.oidc.tenant-enabled=false
  -Dapicurio.authn.basic-client-credentials.enabled=false
  -Dapicurio.usage.telemetry.enabled=false

  # JSON logs on stdout like the rest of the stack, tagged with the instance name.
  -Dquarkus.banner.enabled=false
  -Dquarkus.log.console.json.enabled=true
  -Dquarkus.log.console.json.key-overrides=timestamp=time,logger_name=event
  -Dquarkus.log.console.json.excluded-keys=sequence,loggerClassName,threadId,processId,processName,hostName,ndc,mdc
  "-Dquarkus.log.console.json.additional-field.service.value=$name"
  -Dquarkus.log.category.\"org.apache.kafka\".level=WARN
)

exec "$java_home/bin/java" "${jvm_opts[@]}" "${registry_opts[@]}" "${topic_opts[@]}" "${extra_opts[@]}" -jar "$jar"
