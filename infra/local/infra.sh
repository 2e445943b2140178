#!/usr/bin/env bash
# Local infrastructure for conversa without Docker: Redis, Kafka (KRaft), PostgreSQL 15 and
# FerretDB on it (service `mongo`: the MongoDB wire protocol).
#
#   infra/local/infra.sh up      [redis|kafka|postgres|mongo ...]  # default: all four
#   infra/local/infra.sh down    [redis|kafka|postgres|mongo ...]
#   infra/local/infra.sh status  [redis|kafka|postgres|mongo ...]  # exit 0 only if all named are up
#   infra/local/infra.sh install [redis|kafka|postgres|mongo ...]  # install only, no start
#   infra/local/infra.sh wipe                                       # stop all, delete the data folder
#
# `up mongo` brings postgres up first (FerretDB stores everything in it); `down` stops
# FerretDB before PostgreSQL.
#
# Environment:
#   CONVERSA_CACHE_DIR  binaries/jars (default: $HOME/.cache/conversa)
#   CONVERSA_DATA_DIR   data, logs, pid files (default: <repo root>/.data)
#   REDIS_PORT (6379)  KAFKA_PORT (9092)  KAFKA_CONTROLLER_PORT (9093)  MONGO_PORT (27017)
#   POSTGRES_PORT (54329)
#   POSTGRES_SYNCHRONOUS_COMMIT  on (default: an acknowledged write is on disk); `off` is a
#                       benchmark-only option that may lose the last ~0.6 s of writes on a crash
#   INFRA_TIMEOUT       seconds to wait for readiness (default 120)
#   INFRA_STARTED_FILE  if set, `up` appends the names of the services it started, one a line
#
# `up` prints one line per service and, last, `started: <names>` (the services this
# invocation started, so a test script can stop only those).
# Everything binds to 127.0.0.1 only. Install progress goes to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE_DIR="${CONVERSA_CACHE_DIR:-$HOME/.cache/conversa}"
DATA_DIR="${CONVERSA_DATA_DIR:-$REPO_ROOT/.data}"

REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
MONGO_PORT="${MONGO_PORT:-27017}"
POSTGRES_PORT="${POSTGRES_PORT:-54329}"
POSTGRES_SYNCHRONOUS_COMMIT="${POSTGRES_SYNCHRONOUS_COMMIT:-on}"
INFRA_TIMEOUT="${INFRA_TIMEOUT:-120}"
HOST=127.0.0.1

KAFKA_VERSION=3.9.1
KAFKA_HOME="$CACHE_DIR/kafka/$KAFKA_VERSION"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
FERRETDB_VERSION=v1.24.2
FERRETDB_HOME="$CACHE_DIR/ferretdb/$FERRETDB_VERSION"
FERRETDB_BIN="$FERRETDB_HOME/ferretdb"

# PostgreSQL 15 from Debian's packages. The cluster runs as an unprivileged system user
# (initdb and postgres refuse root); its superuser role and FerretDB's database:
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_OS_USER="${PG_OS_USER:-conversa-pg}"
PG_ROLE=conversa
PG_DB=ferretdb
# FerretDB keeps one schema per MongoDB database, one table per collection, in $PG_DB.
# pool_max_conns: FerretDB 1.24's default pool of 50 PostgreSQL connections can deadlock under
# load: creating a collection holds its metadata registry's write lock while it waits for a
# pooled connection, and the operations holding every connection wait for that registry's read
# lock (seen here: every client hung, goroutine dump in docs/operations.md). A pool larger than
# the operations in flight at once keeps a connection free for the creator; max_connections
# (below) leaves room for it.
FERRETDB_PG_POOL="${FERRETDB_PG_POOL:-150}"
FERRETDB_PG_URL="postgres://$PG_ROLE@$HOST:$POSTGRES_PORT/$PG_DB?sslmode=disable&pool_max_conns=$FERRETDB_PG_POOL"

# start order; `down` stops in reverse
ALL_SERVICES=(redis kafka postgres mongo)

# ---------------------------------------------------------------- helpers
log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100)); }

usage() {
  sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

port_of() {
  case "$1" in
    redis) echo "$REDIS_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
    mongo) echo "$MONGO_PORT" ;;
    postgres) echo "$POSTGRES_PORT" ;;
  esac
}

svc_dir()  { echo "$DATA_DIR/$1"; }
pid_file() { echo "$DATA_DIR/$1/$1.pid"; }
log_file() {
  case "$1" in
    redis) echo "$DATA_DIR/redis/redis.log" ;;
    kafka) echo "$DATA_DIR/kafka/kafka.log" ;;
    mongo) echo "$DATA_DIR/mongo/ferretdb.log" ;;
    postgres) echo "$DATA_DIR/postgres/postgres.log" ;;
  esac
}
# a word that must appear in /proc/<pid>/cmdline of our process (guards against pid reuse)
proc_marker() {
  case "$1" in
    redis) echo "redis-server" ;;
    kafka) echo "kafka.Kafka" ;;
    mongo) echo "ferretdb" ;;
    postgres) echo "$PG_BIN/postgres" ;;
  esac
}

# true if something accepts TCP connections on 127.0.0.1:$1
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# pid from our pid file if that process is alive and is ours; empty otherwise
live_pid() {
  local svc=$1 f pid
  f="$(pid_file "$svc")"
  [[ -s "$f" ]] || return 0
  pid="$(tr -dc '0-9' <"$f")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(proc_marker "$svc")"; then
    echo "$pid"
  fi
}

# ---- readiness probes (each answers quickly; true = service answers properly)

redis_ping() {
  [[ "$(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

# Kafka ApiVersions v0 request (api_key 18), client id "infra": the broker only
# answers on its listener once it has caught up with the metadata log.
_kafka_apiversions_raw() {
  exec 3<>"/dev/tcp/$1/$2" || exit 1
  # size=15 | api_key=18 | api_version=0 | correlation_id=7 | client_id(len 5)="infra"
  printf '\x00\x00\x00\x0f\x00\x12\x00\x00\x00\x00\x00\x07\x00\x05infra' >&3
  # response: size(4) correlation_id(4) error_code(2)
  dd bs=1 count=10 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n'
}
kafka_ping() {
  local out
  out="$(timeout 3 bash -c "$(declare -f _kafka_apiversions_raw); _kafka_apiversions_raw $HOST $KAFKA_PORT" 2>/dev/null)" || return 1
  # correlation id 7 and error code 0
  [[ "${out:8:12}" == "000000070000" ]]
}

# MongoDB wire protocol OP_MSG {ping: 1, $db: "admin"}; expects {ok: 1.0} back.
_mongo_ping_raw() {
  exec 3<>"/dev/tcp/$1/$2" || exit 1
  # shellcheck disable=SC2016 # literal "$db" (BSON field name)
  # header: len=51 reqId=1 respTo=0 opCode=2013 | flags=0 | kind 0 | bson(30 bytes)
  printf '\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00''\x00\x00\x00\x00''\x00''\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00' >&3
  local hdr len
  hdr="$(dd bs=1 count=4 <&3 2>/dev/null | od -An -tu4 | tr -d ' \n')"
  len=${hdr:-0}
  ((len > 4 && len < 65536)) || exit 1
  dd bs=1 count=$((len - 4)) <&3 2>/dev/null | od -An -tx1 | tr -d ' \n'
}
mongo_ping() {
  local out
  out="$(timeout 3 bash -c "$(declare -f _mongo_ping_raw); _mongo_ping_raw $HOST $MONGO_PORT" 2>/dev/null)" || return 1
  # element: type 0x01 (double) "ok\0" 1.0
  [[ "$out" == *016f6b00000000000000f03f* ]]
}

# pg_isready: 0 only once the server accepts connections (not while it recovers from a crash)
postgres_ping() {
  timeout 3 "$PG_BIN/pg_isready" -q -h "$HOST" -p "$POSTGRES_PORT" -U "$PG_ROLE" -d postgres >/dev/null 2>&1
}

is_up() {
  case "$1" in
    redis) redis_ping ;;
    kafka) kafka_ping ;;
    mongo) mongo_ping ;;
    postgres) postgres_ping ;;
  esac
}

# ---------------------------------------------------------------- install

install_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  log "redis: installing Debian package redis-server (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # keep the Debian service from starting on install: we run our own instance
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  local rc=0
  {
    apt-get update -qq >&2 &&
      apt-get install -y -qq --no-install-recommends redis-server redis-tools >&2
  } || rc=$?
  if ((created_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || die "redis: apt-get install redis-server failed (exit $rc)"
  # never auto-start the system service at boot either (harmless if no init system)
  update-rc.d redis-server disable >/dev/null 2>&1 || true
  log "redis: installed $(redis-server --version | awk '{print $3}')"
}

install_kafka() {
  local lib="$KAFKA_HOME/lib" stamp="$KAFKA_HOME/.complete" want
  want="$(cksum <"$SCRIPT_DIR/kafka/pom.xml")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$lib/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; then
    return 0
  fi
  command -v java >/dev/null || die "kafka: java not found (Java 17 is required)"
  command -v mvn >/dev/null || die "kafka: mvn not found (Maven is required to fetch the Kafka jars)"
  log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION + deps from Maven Central into $lib"
  mkdir -p "$KAFKA_HOME"
  rm -rf "$lib" "$stamp" "$KAFKA_HOME"/kafka*.jsa*
  cp "$SCRIPT_DIR/kafka/pom.xml" "$KAFKA_HOME/pom.xml"
  (cd "$KAFKA_HOME" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib" >&2) ||
    die "kafka: mvn dependency:copy-dependencies failed"
  rm -rf "$KAFKA_HOME/target"
  compgen -G "$lib/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null || die "kafka: jar missing after mvn"
  echo "$want" >"$stamp"
  log "kafka: $(find "$lib" -name '*.jar' | wc -l) jars ready"
}

install_mongo() {
  if [[ -x "$FERRETDB_BIN" ]] && "$FERRETDB_BIN" --version >/dev/null 2>&1; then
    return 0
  fi
  command -v go >/dev/null || die "mongo: go not found (Go is required to build FerretDB)"
  local src="$FERRETDB_HOME/src" dir
  log "mongo: building FerretDB $FERRETDB_VERSION from the Go module proxy (a minute or two, once)"
  rm -rf "$src"
  mkdir -p "$src"
  # Neither `go install github.com/FerretDB/FerretDB/cmd/ferretdb@<v>` nor `go build` of that
  # package from a module that requires it gives a working binary: both panic at start,
  # because build/version/version.txt is not in the module zip and the check runs whenever
  # the main package belongs to module github.com/FerretDB/FerretDB. So: take the module
  # source from the Go module proxy, add version.txt, and build it as the main module.
  export GOFLAGS='-mod=mod -buildvcs=false' GOTOOLCHAIN=local CGO_ENABLED=0
  log "mongo: go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION"
  dir="$(cd "$src" && GOFLAGS='' go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || die "mongo: go mod download of FerretDB $FERRETDB_VERSION failed"
  cp -R "$dir" "$src/FerretDB"
  chmod -R u+w "$src/FerretDB"
  echo "$FERRETDB_VERSION" >"$src/FerretDB/build/version/version.txt"
  echo "conversa-local" >"$src/FerretDB/build/version/package.txt"
  log "mongo: go build ./cmd/ferretdb (downloads its dependencies)"
  (cd "$src/FerretDB" && go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb >&2) ||
    die "mongo: building FerretDB failed"
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  "$FERRETDB_BIN" --version >/dev/null 2>&1 ||
    die "mongo: built FerretDB binary does not run: $("$FERRETDB_BIN" --version 2>&1 | tail -n 5)"
  rm -rf "$src"
  log "mongo: FerretDB $FERRETDB_VERSION ready at $FERRETDB_BIN"
}

# Runs a command as the cluster's OS user: root starts nothing of PostgreSQL as root.
as_pg() {
  if ((EUID == 0)); then
    setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups -- "$@"
  else
    "$@"
  fi
}

install_postgres() {
  if [[ ! -x "$PG_BIN/initdb" || ! -x "$PG_BIN/postgres" || ! -x "$PG_BIN/pg_isready" || ! -x "$PG_BIN/psql" ]]; then
    ((EUID == 0)) || die "postgres: PostgreSQL 15 is not installed ($PG_BIN/initdb missing): sudo apt-get install postgresql-15"
    log "postgres: installing Debian package postgresql-15 (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # keep Debian's own cluster ("main") from starting on install: we run a private one
    local policy=/usr/sbin/policy-rc.d created_policy=0 rc=0
    if [[ ! -e "$policy" ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy"
      chmod +x "$policy"
      created_policy=1
    fi
    {
      apt-get update -qq >&2 &&
        apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 >&2
    } || rc=$?
    if ((created_policy)); then rm -f "$policy"; fi
    ((rc == 0)) || die "postgres: apt-get install postgresql-15 failed (exit $rc)"
    # nor at boot (harmless where there is no init system)
    update-rc.d postgresql disable >/dev/null 2>&1 || true
    systemctl disable postgresql >/dev/null 2>&1 || true
    [[ -x "$PG_BIN/initdb" ]] || die "postgres: $PG_BIN/initdb missing after apt-get install"
    log "postgres: installed $("$PG_BIN/postgres" --version)"
  fi
  if ((EUID == 0)) && ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    log "postgres: creating system user $PG_OS_USER (the cluster's owner: initdb refuses root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment "conversa local PostgreSQL" "$PG_OS_USER" ||
      die "postgres: useradd $PG_OS_USER failed"
  fi
}

# ---------------------------------------------------------------- start

start_redis() {
  local d
  d="$(svc_dir redis)"
  mkdir -p "$d"
  : >"$d/redis.log"
  redis-server --bind "$HOST" --port "$REDIS_PORT" --protected-mode yes \
    --save "" --appendonly no --daemonize yes \
    --dir "$d" --logfile "$d/redis.log" --pidfile "$(pid_file redis)" \
    </dev/null >/dev/null 2>&1 9>&- ||
    { fail_start redis "redis-server exited with an error"; }
}

kafka_cluster_id() {
  # Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    # avoid ids starting with '-' (they would look like a flag)
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

write_kafka_config() {
  local d=$1
  cat >"$d/server.properties" <<EOF
# generated by infra/local/infra.sh -- edits are overwritten on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data

num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0

num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
EOF
}

# Class-data sharing (AppCDS) halves the broker's start time (about 3 s -> 1.5 s here).
# The first start dumps an archive when the JVM exits (i.e. on `down`); it goes to
# kafka.jsa.new.<pid> and is promoted to kafka.jsa once that JVM is gone and the
# archive passes a check. A broken archive could crash the JVM, hence the checks
# and the retry without it in start_kafka.
# The archive only fits the JVM that wrote it: name it after that JVM (path + mtime).
java_key() {
  local j
  j="$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)" 2>/dev/null || true)"
  printf '%s %s' "$j" "$(stat -c %Y "$j" 2>/dev/null || echo 0)" | cksum | cut -d' ' -f1
}
KAFKA_JSA="$KAFKA_HOME/kafka-$(java_key).jsa"
KAFKA_CDS="${KAFKA_CDS:-1}"

promote_kafka_archive() {
  local f pid
  for f in "$KAFKA_JSA".new.*; do
    [[ -e "$f" ]] || continue
    pid="${f##*.}"
    # still being written by a live JVM: leave it
    if kill -0 "$pid" 2>/dev/null; then continue; fi
    if [[ ! -s "$KAFKA_JSA" ]] && [[ -s "$f" ]] &&
      java -Xshare:on -XX:SharedArchiveFile="$f" '-Xlog:cds*=off' -XX:ErrorFile=/dev/null \
        -cp "$KAFKA_HOME/lib/*" -version >/dev/null 2>&1; then
      mv -f "$f" "$KAFKA_JSA"
      log "kafka: class-data archive ready (faster starts from now on)"
    else
      rm -f "$f"
    fi
  done
}

launch_kafka() {
  local d=$1 use_cds=$2 args
  args=(
    -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP"
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError
    -XX:MaxDirectMemorySize=256m -XX:ErrorFile="$d/hs_err_pid%p.log"
    '-Xlog:cds*=off'
    -Djava.awt.headless=true
    -Dkafka.logs.dir="$d"
    -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/log4j.properties"
    -cp "$KAFKA_HOME/lib/*" kafka.Kafka "$d/server.properties"
  )
  # setsid: own session, so the broker does not die with the calling terminal.
  # Not a process-group leader here, so setsid does not fork, and bash execs java:
  # $! is the JVM's pid.
  if ((use_cds)) && [[ -s "$KAFKA_JSA" ]]; then
    setsid nohup java -XX:SharedArchiveFile="$KAFKA_JSA" "${args[@]}" \
      </dev/null >"$d/kafka.log" 2>&1 9>&- &
  elif ((use_cds)); then
    # shellcheck disable=SC2016 # $0/$$/$@ belong to the inner bash
    # dump an archive at exit, named after the JVM's pid ($$ of the bash that execs it)
    setsid nohup bash -c 'exec java -XX:ArchiveClassesAtExit="$0$$" "$@"' "$KAFKA_JSA.new." "${args[@]}" \
      </dev/null >"$d/kafka.log" 2>&1 9>&- &
  else
    setsid nohup java "${args[@]}" </dev/null >"$d/kafka.log" 2>&1 9>&- &
  fi
  echo $! >"$(pid_file kafka)"
}

start_kafka() {
  local d pid i
  d="$(svc_dir kafka)"
  mkdir -p "$d/data"
  write_kafka_config "$d"
  if [[ ! -f "$d/data/meta.properties" ]]; then
    local cid
    cid="$(kafka_cluster_id)"
    log "kafka: formatting storage (cluster id $cid)"
    java -Xmx256m -cp "$KAFKA_HOME/lib/*" -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/log4j.properties" \
      kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" --ignore-formatted \
      >"$d/format.log" 2>&1 9>&- ||
      { cat "$d/format.log" >&2; die "kafka: storage format failed (log: $d/format.log)"; }
  fi
  [[ -f "$d/kafka.log" ]] && mv -f "$d/kafka.log" "$d/kafka.log.prev"
  if ((KAFKA_CDS)); then promote_kafka_archive; fi
  launch_kafka "$d" "$KAFKA_CDS"
  if ((KAFKA_CDS)) && [[ -s "$KAFKA_JSA" ]]; then
    # a JVM that cannot use the archive dies at once: drop the archive, start without it
    for ((i = 0; i < 5; i++)); do
      sleep 0.1
      pid="$(live_pid kafka)"
      [[ -n "$pid" ]] || break
    done
    if [[ -z "$pid" ]]; then
      log "kafka: JVM failed with the class-data archive; deleting it and starting without"
      rm -f "$KAFKA_JSA"
      mv -f "$d/kafka.log" "$d/kafka.log.cds-failure"
      launch_kafka "$d" 0
    fi
  fi
}

# Settings of the private cluster, rewritten on every start (like Kafka's server.properties).
# Sized for a 2-core, 24 GiB machine that also runs Kafka, Redis, FerretDB and the services.
write_postgres_config() {
  local data=$1
  case "$POSTGRES_SYNCHRONOUS_COMMIT" in
    on) ;;
    off)
      log "postgres: synchronous_commit=off (benchmark option): an acknowledged write may be lost on a crash"
      ;;
    *) die "postgres: POSTGRES_SYNCHRONOUS_COMMIT must be on or off (got '$POSTGRES_SYNCHRONOUS_COMMIT')" ;;
  esac
  cat >"$data/conversa.conf" <<EOF
# generated by infra/local/infra.sh -- edits are overwritten on every start
listen_addresses = '$HOST'
port = $POSTGRES_PORT
# TCP only: no socket in a directory the cluster's user may not reach
unix_socket_directories = ''
max_connections = 300
# Durability: an acknowledged write is on disk (WAL flushed) before the client hears of it.
fsync = on
synchronous_commit = $POSTGRES_SYNCHRONOUS_COMMIT
full_page_writes = on
wal_level = replica
wal_buffers = 16MB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
max_wal_size = 2GB
min_wal_size = 256MB
# Memory: a share of 24 GiB that leaves room for the rest of the stack.
shared_buffers = 512MB
effective_cache_size = 4GB
work_mem = 8MB
maintenance_work_mem = 256MB
huge_pages = off
# Two cores: no parallel query, no JIT (it only adds latency to small statements).
max_parallel_workers_per_gather = 0
max_parallel_maintenance_workers = 1
jit = off
random_page_cost = 1.1
effective_io_concurrency = 100
# Growing tables get fresh statistics soon, so plans switch to the indexes early.
autovacuum = on
autovacuum_naptime = 10s
# What FerretDB sends, for diagnosis (SELECT * FROM pg_stat_statements) and the store's EXPLAIN test.
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 2000
pg_stat_statements.track = top
log_destination = 'stderr'
logging_collector = off
log_min_messages = warning
log_checkpoints = off
log_line_prefix = '%m [%p] %q%u@%d '
timezone = 'UTC'
EOF
}

init_postgres() {
  local d=$1 data=$1/data
  if [[ -f "$data/PG_VERSION" ]]; then return 0; fi
  log "postgres: initdb $data (owner $PG_OS_USER, superuser role $PG_ROLE)"
  rm -rf "$data"
  mkdir -p "$data"
  if ((EUID == 0)); then
    # The cluster's user must reach its folder: let it traverse (not list) the data folder.
    chmod a+x "$DATA_DIR"
    chown "$PG_OS_USER:$PG_OS_USER" "$d" "$data"
    as_pg test -w "$data" || die "postgres: $PG_OS_USER cannot reach $data (a parent folder is not traversable)"
  fi
  chmod 700 "$data"
  as_pg "$PG_BIN/initdb" -D "$data" --username="$PG_ROLE" --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-instructions >"$d/initdb.log" 2>&1 ||
    { cat "$d/initdb.log" >&2; die "postgres: initdb failed (log: $d/initdb.log)"; }
  # loopback only, no password (like the local Redis); listen_addresses keeps it off the network
  cat >"$data/pg_hba.conf" <<EOF
# generated by infra/local/infra.sh at initdb
host all all 127.0.0.1/32 trust
EOF
  echo "include = 'conversa.conf'" >>"$data/postgresql.conf"
  if ((EUID == 0)); then chown "$PG_OS_USER:$PG_OS_USER" "$data/pg_hba.conf"; fi
}

# Backends of a killed postmaster live on for a moment (they exit once they notice); a new
# postmaster refuses to start while they still hold the old shared memory. They are the ones
# whose working directory is the data folder.
wait_postgres_orphans() {
  local data=$1 i p left=()
  for ((i = 0; i < 100; i++)); do
    left=()
    for p in /proc/[0-9]*; do
      [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$data" ]] && left+=("${p#/proc/}")
    done
    ((${#left[@]} == 0)) && return 0
    if ((i == 50)); then
      log "postgres: ${#left[@]} processes of the previous server still alive; killing them"
      kill -KILL "${left[@]}" 2>/dev/null || true
    fi
    sleep 0.1
  done
  die "postgres: processes of the previous server (${left[*]}) do not exit"
}

start_postgres() {
  local d data
  d="$(svc_dir postgres)"
  data="$d/data"
  mkdir -p "$d"
  init_postgres "$d"
  write_postgres_config "$data"
  if ((EUID == 0)); then chown "$PG_OS_USER:$PG_OS_USER" "$data/conversa.conf"; fi
  wait_postgres_orphans "$data"
  [[ -f "$d/postgres.log" ]] && mv -f "$d/postgres.log" "$d/postgres.log.prev"
  # setsid, nohup and setpriv all exec: $! is the postmaster's pid. A postmaster killed with
  # -9 leaves postmaster.pid behind; the new one sees that pid gone and runs crash recovery.
  if ((EUID == 0)); then
    setsid nohup setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups -- \
      "$PG_BIN/postgres" -D "$data" </dev/null >"$d/postgres.log" 2>&1 9>&- &
  else
    setsid nohup "$PG_BIN/postgres" -D "$data" </dev/null >"$d/postgres.log" 2>&1 9>&- &
  fi
  echo $! >"$(pid_file postgres)"
}

pg_sql() {
  PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$POSTGRES_PORT" -U "$PG_ROLE" "$@"
}

# FerretDB's database, pg_stat_statements, and the GIN twins of FerretDB's indexes
# (postgres/ferretdb-gin.sql). Idempotent; runs before every FerretDB start.
setup_ferretdb_database() {
  if [[ -z "$(pg_sql -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]]; then
    log "postgres: creating database $PG_DB"
    pg_sql -d postgres -c "CREATE DATABASE $PG_DB" >/dev/null || die "postgres: CREATE DATABASE $PG_DB failed"
  fi
  pg_sql -d "$PG_DB" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null ||
    die "postgres: CREATE EXTENSION pg_stat_statements failed"
  pg_sql -d "$PG_DB" -f "$SCRIPT_DIR/postgres/ferretdb-gin.sql" >/dev/null ||
    die "postgres: installing $SCRIPT_DIR/postgres/ferretdb-gin.sql failed"
}

start_mongo() {
  local d
  d="$(svc_dir mongo)"
  mkdir -p "$d/state"
  setup_ferretdb_database
  [[ -f "$d/ferretdb.log" ]] && mv -f "$d/ferretdb.log" "$d/ferretdb.log.prev"
  setsid nohup "$FERRETDB_BIN" \
    --handler=postgresql --postgresql-url="$FERRETDB_PG_URL" \
    --listen-addr="$HOST:$MONGO_PORT" \
    --state-dir="$d/state" \
    --debug-addr=- --telemetry=disable \
    --log-level=info \
    </dev/null >"$d/ferretdb.log" 2>&1 9>&- &
  echo $! >"$(pid_file mongo)"
}

fail_start() {
  local svc=$1 why=$2 lf
  lf="$(log_file "$svc")"
  printf '[infra] ERROR: %s failed to start on %s:%s: %s (log: %s)\n' \
    "$svc" "$HOST" "$(port_of "$svc")" "$why" "$lf" >&2
  if [[ -f "$lf" ]]; then
    printf '[infra] last 20 lines of %s:\n' "$lf" >&2
    tail -n 20 "$lf" >&2
  fi
  # do not leave a half-started process behind (nobody would know to stop it)
  if [[ -n "$(live_pid "$svc")" ]]; then
    printf '[infra] stopping the unready %s process\n' "$svc" >&2
    stop_service "$svc" >/dev/null
  fi
  exit 1
}

wait_ready() {
  local svc=$1 deadline pid
  deadline=$((SECONDS + INFRA_TIMEOUT))
  while :; do
    if is_up "$svc"; then
      if [[ "$svc" != kafka ]] || grep -q "Kafka Server started" "$(log_file kafka)" 2>/dev/null; then
        return 0
      fi
    fi
    # redis daemonizes and writes its pid file itself: only check liveness once it exists.
    # Only "is the pid we just started gone" here, not live_pid's command-line check: while a
    # process execs through setsid/nohup/setpriv, or PostgreSQL rewrites its argv for its
    # process title, /proc/<pid>/cmdline can be read half-written for a moment.
    if [[ -s "$(pid_file "$svc")" ]]; then
      pid="$(tr -dc '0-9' <"$(pid_file "$svc")")"
      [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || fail_start "$svc" "process exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      fail_start "$svc" "not ready after ${INFRA_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- stop

stop_service() {
  local svc=$1 pid i
  pid="$(live_pid "$svc")"
  if [[ -z "$pid" ]]; then
    rm -f "$(pid_file "$svc")"
    if port_open "$(port_of "$svc")"; then
      log "$svc: port $(port_of "$svc") is in use by a process without our pid file; not stopping it"
      printf '%-8s %s\n' "$svc" "not ours (no pid file), left running"
    else
      printf '%-8s %s\n' "$svc" "down  (was not running)"
    fi
    return 0
  fi
  # PostgreSQL: SIGINT is its fast shutdown (SIGTERM would wait for FerretDB's pooled
  # connections to close, which they never do on their own).
  if [[ "$svc" == postgres ]]; then kill -INT "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$svc: pid $pid still alive after 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    # an archive the JVM was dumping at exit may be partial
    if [[ "$svc" == kafka ]]; then rm -f "$KAFKA_JSA.new.$pid"; fi
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$(pid_file "$svc")"
  if [[ "$svc" == kafka && "$KAFKA_CDS" == 1 ]]; then promote_kafka_archive; fi
  printf '%-8s %s\n' "$svc" "down  (stopped pid $pid)"
}

# ---------------------------------------------------------------- commands

parse_services() {
  SERVICES=()
  if (($# == 0)); then
    SERVICES=("${ALL_SERVICES[@]}")
    return
  fi
  local s
  for s in "$@"; do
    case "$s" in
      redis | kafka | mongo | postgres) SERVICES+=("$s") ;;
      mongodb | ferretdb) SERVICES+=(mongo) ;;
      postgresql | pg) SERVICES+=(postgres) ;;
      *) die "unknown service '$s' (expected: redis kafka postgres mongo)" ;;
    esac
  done
}

# `up mongo` needs PostgreSQL first: FerretDB keeps everything in it.
with_dependencies() {
  local s want=() seen=" "
  for s in "${SERVICES[@]}"; do
    if [[ "$s" == mongo && "$seen" != *" postgres "* ]]; then want+=(postgres); seen+="postgres "; fi
    if [[ "$seen" != *" $s "* ]]; then want+=("$s"); seen+="$s "; fi
  done
  SERVICES=("${want[@]}")
}

# `down`: FerretDB before PostgreSQL, whatever order they were named in.
in_stop_order() {
  local i want=() s
  for ((i = ${#ALL_SERVICES[@]} - 1; i >= 0; i--)); do
    for s in "${SERVICES[@]}"; do
      if [[ "$s" == "${ALL_SERVICES[$i]}" ]]; then want+=("$s"); break; fi
    done
  done
  SERVICES=("${want[@]}")
}

take_lock() {
  mkdir -p "$DATA_DIR"
  exec 9>"$DATA_DIR/.infra.lock"
  flock -w 600 9 || die "another infra.sh is running (lock $DATA_DIR/.infra.lock)"
}

ensure_gitignore() {
  # only when the data dir is the default one inside the repo
  [[ -z "${CONVERSA_DATA_DIR:-}" ]] || return 0
  local gi="$REPO_ROOT/.gitignore"
  if [[ ! -f "$gi" ]] || ! grep -qxF '.data/' "$gi"; then
    if [[ -s "$gi" && -n "$(tail -c 1 "$gi")" ]]; then echo >>"$gi"; fi
    echo '.data/' >>"$gi"
  fi
}

cmd_install() {
  local s
  for s in "${SERVICES[@]}"; do "install_$s"; done
}

cmd_up() {
  local s started=() t0
  take_lock
  ensure_gitignore
  for s in "${SERVICES[@]}"; do
    if is_up "$s"; then
      printf '%-8s up  %s:%s  (already running)\n' "$s" "$HOST" "$(port_of "$s")"
      continue
    fi
    if port_open "$(port_of "$s")"; then
      die "$s: port $HOST:$(port_of "$s") is taken by something that does not answer as $s"
    fi
    "install_$s"
    # a stale pid of ours (e.g. a hung process) would block the port or the storage
    if [[ -n "$(live_pid "$s")" ]]; then
      log "$s: our previous process is alive but not answering; stopping it first"
      stop_service "$s" >/dev/null
    fi
    rm -f "$(pid_file "$s")"
    t0=$(now_ms)
    log "$s: starting on $HOST:$(port_of "$s")"
    "start_$s"
    wait_ready "$s"
    printf '%-8s up  %s:%s  (started in %s)\n' "$s" "$HOST" "$(port_of "$s")" "$(elapsed "$t0")"
    started+=("$s")
    if [[ -n "${INFRA_STARTED_FILE:-}" ]]; then echo "$s" >>"$INFRA_STARTED_FILE"; fi
  done
  echo "started: ${started[*]}"
}

cmd_down() {
  local s
  take_lock
  for s in "${SERVICES[@]}"; do stop_service "$s"; done
}

cmd_status() {
  local s rc=0 pid
  for s in "${SERVICES[@]}"; do
    pid="$(live_pid "$s")"
    if is_up "$s"; then
      printf '%-8s up    %s:%s  pid %s  log %s\n' "$s" "$HOST" "$(port_of "$s")" "${pid:-?}" "$(log_file "$s")"
    else
      printf '%-8s down  %s:%s%s\n' "$s" "$HOST" "$(port_of "$s")" "${pid:+  (pid $pid alive but not answering)}"
      rc=1
    fi
  done
  return $rc
}

cmd_wipe() {
  SERVICES=("${ALL_SERVICES[@]}")
  in_stop_order
  cmd_down
  exec 9>&-
  log "deleting $DATA_DIR"
  rm -rf "$DATA_DIR"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1
  shift
  case "$cmd" in
    up) parse_services "$@"; with_dependencies; cmd_up ;;
    down) parse_services "$@"; in_stop_order; cmd_down ;;
    status) parse_services "$@"; cmd_status ;;
    install) parse_services "$@"; cmd_install ;;
    wipe) (($# == 0)) || die "wipe takes no arguments"; cmd_wipe ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
