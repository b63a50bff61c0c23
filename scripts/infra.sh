#!/usr/bin/env bash
# Local Kafka + MongoDB-compatible server + Redis for development and tests, without Docker.
#
#   scripts/infra.sh up|down|status|env [--profile dev|test]
#
# Everything is installed from package registries (Maven Central, Debian apt), cached outside
# the repo, and bound to 127.0.0.1 only. Readiness is checked by speaking each server's wire
# protocol (scripts/infra/probe.mjs), never by sleeping. See docs/infrastructure.md.
#
# Environment:
#   INFRA_PROFILE                dev (default) or test; --profile wins
#   INFRA_KAFKA_PORT             default 9092 (dev) / 19092 (test)
#   INFRA_KAFKA_CONTROLLER_PORT  default 9093 (dev) / 19093 (test)
#   INFRA_MONGO_PORT             default 27017 (dev) / 37017 (test)
#   INFRA_REDIS_PORT             default 6379 (dev) / 16379 (test)
#   REDIS_PASSWORD               default redispassword
#   INFRA_CACHE_DIR              download/build cache, default ~/.cache/integr8scode
#   INFRA_STATE_DIR              pids, logs, data; default ~/.local/state/integr8scode/<profile>
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INFRA_DIR="$SCRIPT_DIR/infra"

KAFKA_VERSION=3.9.1
MONGO_JAVA_SERVER_VERSION=1.47.0
# Pinned: Maven 3.8's default dependency plugin is too old for these options.
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

BIND_HOST=127.0.0.1
STOP_TIMEOUT_S=15
SERVICES=(kafka mongo redis)

# Set by main() once the profile is known.
PROFILE=""
CACHE_ROOT=""
STATE_DIR=""
KAFKA_PORT=""
KAFKA_CONTROLLER_PORT=""
MONGO_PORT=""
REDIS_PORT=""
REDIS_PASSWORD="${REDIS_PASSWORD:-redispassword}"

# mongo-java-server implements no authentication command (no saslStart/SCRAM), so a client that
# sends credentials fails; the app must connect without them. See docs/infrastructure.md.
MONGO_SUPPORTS_AUTH=false

# ---------------------------------------------------------------- helpers

log() { printf '%s\n' "$*"; }
warn() { printf 'infra: %s\n' "$*" >&2; }
die() {
  printf 'infra: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat <<'EOF'
usage: scripts/infra.sh up|down|status|env [--profile dev|test]

  up      start Kafka, MongoDB (mongo-java-server) and Redis on 127.0.0.1; no-op for running ones
  down    stop the servers this script started for the profile
  status  one line per service; exit 0 if all run, 3 otherwise
  env     print export lines pointing the app at this profile's servers
EOF
}

require_cmd() {
  local cmd=$1 hint=$2
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found on PATH: $hint"
}

check_port_value() {
  local name=$1 value=$2
  if ! [[ "$value" =~ ^[1-9][0-9]{0,4}$ ]] || ((value > 65535)); then
    die "$name='$value' is not a valid port"
  fi
}

# Runs "$@" while holding an exclusive lock on file $1 (no-op locking where flock is missing).
# flock serializes concurrent `up`/`down` runs and concurrent fetches into the shared cache.
with_lock() {
  local lockfile=$1
  shift
  if command -v flock >/dev/null 2>&1; then
    (
      exec 8>"$lockfile"
      flock 8
      "$@"
    )
  else
    "$@"
  fi
}

# Command line of a pid, NUL separators turned into spaces ("" when the pid is gone).
proc_cmdline() {
  local pid=$1
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true
  else
    ps -o args= -p "$pid" 2>/dev/null || true
  fi
}

# Java servers carry -Dintegr8scode.infra=<state dir>/<service>, so a recorded pid that was
# reused by an unrelated process is never mistaken for ours (and never killed).
java_marker() { printf -- '-Dintegr8scode.infra=%s/%s' "$STATE_DIR" "$1"; }

# True when the pid recorded for a service is alive and really is the server we started.
# Redis rewrites its process title to "redis-server 127.0.0.1:<port>", so it is matched by that.
service_pid() {
  local svc=$1 pidfile pid cmdline
  pidfile="$STATE_DIR/$svc/$svc.pid"
  [[ -s "$pidfile" ]] || return 1
  pid=$(<"$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(proc_cmdline "$pid")
  case $svc in
    kafka | mongo) [[ "$cmdline" == *"$(java_marker "$svc") "* ]] || return 1 ;;
    redis) [[ "$cmdline" == *redis-server*":$(recorded_ports redis)"* ]] || return 1 ;;
  esac
  printf '%s\n' "$pid"
}

# Ports a running service was started with (written by `up`), e.g. "19092 19093" for Kafka.
recorded_ports() { cat "$STATE_DIR/$1/ports" 2>/dev/null || true; }

wanted_ports() {
  case $1 in
    kafka) printf '%s %s\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" ;;
    mongo) printf '%s\n' "$MONGO_PORT" ;;
    redis) printf '%s\n' "$REDIS_PORT" ;;
  esac
}

# Name of the variable that overrides a given configured port, for error messages.
port_env_var() {
  case $1 in
    "$KAFKA_PORT") echo INFRA_KAFKA_PORT ;;
    "$KAFKA_CONTROLLER_PORT") echo INFRA_KAFKA_CONTROLLER_PORT ;;
    "$MONGO_PORT") echo INFRA_MONGO_PORT ;;
    *) echo INFRA_REDIS_PORT ;;
  esac
}

# Something (not necessarily ours) accepts connections on 127.0.0.1:<port>.
port_in_use() {
  (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null
}

# Fills PROBE_CMD with the probe command line for <svc> <port> [timeout-ms].
probe_cmd() {
  local svc=$1 port=$2 timeout_ms=${3:-}
  PROBE_CMD=(node "$INFRA_DIR/probe.mjs" "$svc" "$BIND_HOST" "$port")
  if [[ "$svc" == redis ]]; then PROBE_CMD+=(--password "$REDIS_PASSWORD"); fi
  if [[ -n "$timeout_ms" ]]; then PROBE_CMD+=(--timeout-ms "$timeout_ms"); fi
}

probe() {
  local PROBE_CMD
  probe_cmd "$@"
  "${PROBE_CMD[@]}"
}

# Runs the protocol probe, but gives up as soon as the freshly started server process exits
# (a bad config or a taken port), instead of waiting for the probe's full timeout.
wait_ready() {
  local svc=$1 port=$2 pid probe_pid PROBE_CMD
  pid=$(cat "$STATE_DIR/$svc/$svc.pid" 2>/dev/null || true)
  probe_cmd "$svc" "$port"
  # A plain command in the background: $! is node itself, so the kill below reaches it.
  "${PROBE_CMD[@]}" &
  probe_pid=$!
  while kill -0 "$probe_pid" 2>/dev/null; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      kill "$probe_pid" 2>/dev/null || true
      wait "$probe_pid" 2>/dev/null || true
      warn "$svc (pid $pid) exited during startup"
      return 1
    fi
    sleep 0.2
  done
  wait "$probe_pid"
}

# Keeps the previous run's log as <file>.1, so a log tail shows only the current run.
rotate_log() {
  [[ -f "$1" ]] && mv -f "$1" "$1.1"
  return 0
}

# Prints the end of a server's log after a failed start, so CI output shows why.
show_log_tail() {
  local file=$1
  [[ -f "$file" ]] || return 0
  warn "last lines of $file:"
  tail -n 40 "$file" | awk '{ print "    " $0 }' >&2
}

# SIGTERM, wait up to STOP_TIMEOUT_S, then SIGKILL. Only called with pids from service_pid.
stop_pid() {
  local svc=$1 pid=$2 waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= STOP_TIMEOUT_S * 10)); then
      warn "$svc (pid $pid) still alive after ${STOP_TIMEOUT_S}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Copies the runtime dependencies of a dependency-only pom into <dest>/libs.
maven_fetch() {
  local pom=$1 dest=$2
  require_cmd mvn "install Maven 3.8+ (Debian: apt-get install maven)"
  rm -rf "$dest/libs"
  # One Maven at a time: parallel runs writing the same ~/.m2 artifacts can corrupt them.
  # Output goes to a log (even -q prints terminal escape codes); shown only when Maven fails.
  if ! with_lock "$CACHE_ROOT/.maven.lock" \
    mvn -B -q -f "$pom" "$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$dest/libs" >"$dest/maven.log" 2>&1; then
    show_log_tail "$dest/maven.log"
    die "Maven could not fetch the dependencies of $pom"
  fi
}

# Starts a command detached from this shell (own session, stdio to the log, lock fds closed)
# and records its pid. bash -c writes its own pid and execs, so the pidfile holds the server.
spawn_detached() {
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$ and "$@" expand in the child shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$pidfile" ]] && return 0
    sleep 0.1
  done
  die "could not start: $*"
}

# ---------------------------------------------------------------- Kafka

KAFKA_JVM_OPTS=(-Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

kafka_home() { printf '%s/kafka-%s\n' "$CACHE_ROOT" "$KAFKA_VERSION"; }

kafka_fetch_locked() {
  local home
  home=$(kafka_home)
  [[ -f "$home/.complete" ]] && return 0
  log "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $home (first run only)"
  mkdir -p "$home"
  maven_fetch "$INFRA_DIR/kafka/pom.xml" "$home"
  # Written last: an interrupted fetch leaves no marker and is redone next time.
  date -u +%FT%TZ >"$home/.complete"
}

kafka_ensure_installed() {
  mkdir -p "$CACHE_ROOT"
  with_lock "$CACHE_ROOT/.kafka-$KAFKA_VERSION.lock" kafka_fetch_locked
}

kafka_write_config() {
  local dir=$1
  local KAFKA_INITIAL_REBALANCE_DELAY_MS=3000
  [[ "$PROFILE" == test ]] && KAFKA_INITIAL_REBALANCE_DELAY_MS=0
  cat >"$dir/server.properties" <<EOF
# Generated by scripts/infra.sh for profile '$PROFILE'. Single-node KRaft, combined mode.
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@$BIND_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT,CONTROLLER://$BIND_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# The app creates its topics explicitly; a typo must fail instead of creating a topic.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
# One node: internal topics cannot have more replicas than that.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# 50 partitions (the default) make the first consumer-group join and transaction init slow.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
# dev: Kafka's default, so the processes of one group starting together (the API's workers) join
# one generation instead of the first member learning of each later one only at its next heartbeat
# (KAFKA_HEARTBEAT_INTERVAL_MS, 10 s). test: no delay; most test groups have a single member.
group.initial.rebalance.delay.ms=$KAFKA_INITIAL_REBALANCE_DELAY_MS
# The default (128 MiB) would take a quarter of the 512 MiB heap.
log.cleaner.dedupe.buffer.size=1048577
# Two cores: fewer threads than the defaults.
num.network.threads=2
num.io.threads=4
EOF
  cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/server.log
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
}

kafka_java() {
  local dir=$1 main=$2
  shift 2
  java "${KAFKA_JVM_OPTS[@]}" "-Dlog4j.configuration=file:$dir/log4j.properties" \
    -cp "$(kafka_home)/libs/*" "$main" "$@"
}

kafka_start() {
  local dir="$STATE_DIR/kafka"
  mkdir -p "$dir"
  kafka_write_config "$dir"
  # Tests must not see topics or offsets of an earlier run.
  if [[ "$PROFILE" == test ]]; then
    rm -rf "$dir/data"
  fi
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    # One cluster id per state dir; a formatted log dir keeps its own id anyway.
    if [[ ! -s "$dir/cluster.id" ]]; then
      kafka_java "$dir" kafka.tools.StorageTool random-uuid >"$dir/cluster.id.tmp" 2>>"$dir/storage-tool.log" ||
        { show_log_tail "$dir/storage-tool.log"; die "kafka: StorageTool random-uuid failed"; }
      tail -n 1 "$dir/cluster.id.tmp" >"$dir/cluster.id"
      rm -f "$dir/cluster.id.tmp"
    fi
    kafka_java "$dir" kafka.tools.StorageTool format -t "$(<"$dir/cluster.id")" \
      -c "$dir/server.properties" --ignore-formatted >>"$dir/storage-tool.log" 2>&1 ||
      { show_log_tail "$dir/storage-tool.log"; die "kafka: formatting $dir/data failed"; }
  fi
  spawn_detached "$dir/kafka.pid" "$dir/stdout.log" \
    java "${KAFKA_JVM_OPTS[@]}" "$(java_marker kafka)" \
    "-Dlog4j.configuration=file:$dir/log4j.properties" \
    -cp "$(kafka_home)/libs/*" kafka.Kafka "$dir/server.properties"
}

# ---------------------------------------------------------------- MongoDB (mongo-java-server)

mongo_home() { printf '%s/mongo-java-server-%s\n' "$CACHE_ROOT" "$MONGO_JAVA_SERVER_VERSION"; }

# Compiled classes are keyed by the source's hash, so editing MongoServerMain.java recompiles.
mongo_classes_dir() {
  local hash
  hash=$(sha256sum "$INFRA_DIR/mongo/MongoServerMain.java" | cut -c1-16)
  printf '%s/classes-%s\n' "$(mongo_home)" "$hash"
}

mongo_fetch_locked() {
  local home classes
  home=$(mongo_home)
  classes=$(mongo_classes_dir)
  if [[ ! -f "$home/.complete" ]]; then
    log "fetching mongo-java-server $MONGO_JAVA_SERVER_VERSION from Maven Central into $home (first run only)"
    mkdir -p "$home"
    maven_fetch "$INFRA_DIR/mongo/pom.xml" "$home"
    date -u +%FT%TZ >"$home/.complete"
  fi
  if [[ ! -f "$classes/.complete" ]]; then
    require_cmd javac "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"
    rm -rf "$classes"
    mkdir -p "$classes"
    javac -nowarn -d "$classes" -cp "$home/libs/*" "$INFRA_DIR/mongo/MongoServerMain.java" ||
      die "mongo: compiling MongoServerMain.java failed"
    date -u +%FT%TZ >"$classes/.complete"
  fi
}

mongo_ensure_installed() {
  mkdir -p "$CACHE_ROOT"
  with_lock "$CACHE_ROOT/.mongo-java-server-$MONGO_JAVA_SERVER_VERSION.lock" mongo_fetch_locked
}

mongo_start() {
  local dir="$STATE_DIR/mongo"
  mkdir -p "$dir"
  spawn_detached "$dir/mongo.pid" "$dir/server.log" \
    java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "$(java_marker mongo)" \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd\'T\'HH:mm:ss.SSS \
    -cp "$(mongo_classes_dir):$(mongo_home)/libs/*" MongoServerMain "$BIND_HOST" "$MONGO_PORT"
}

# ---------------------------------------------------------------- Redis (Debian redis-server)

redis_install_locked() {
  command -v redis-server >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "redis-server is not installed and apt-get is unavailable: install Redis 7 yourself"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "redis-server is missing; installing it needs root or sudo"
    sudo=(sudo)
  fi
  log "installing redis-server with apt-get (first run only)"
  # The package's postinst would start a system-wide Redis on 6379, which is the dev profile's
  # port and a server we did not start. A policy-rc.d that answers 101 forbids that start.
  local policy=/usr/sbin/policy-rc.d created_policy=false
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    created_policy=true
  fi
  # Lock::Timeout: wait for another apt/dpkg run instead of failing at once.
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300)
  local ok=true
  # A fresh machine may have no (or stale) package lists: update and retry once.
  if ! "${apt[@]}" install --no-install-recommends redis-server >/dev/null 2>&1; then
    "${apt[@]}" update >/dev/null && "${apt[@]}" install --no-install-recommends redis-server >/dev/null ||
      ok=false
  fi
  if [[ "$created_policy" == true ]]; then
    "${sudo[@]}" rm -f "$policy"
  fi
  if [[ "$ok" != true ]] || ! command -v redis-server >/dev/null 2>&1; then
    die "apt-get could not install redis-server"
  fi
}

redis_ensure_installed() {
  mkdir -p "$CACHE_ROOT"
  with_lock "$CACHE_ROOT/.apt-redis.lock" redis_install_locked
}

redis_start() {
  local dir="$STATE_DIR/redis"
  mkdir -p "$dir/data"
  # A config file (mode 600) keeps the password out of `ps` output.
  (
    umask 077
    {
      echo "# Generated by scripts/infra.sh for profile '$PROFILE'."
      echo "port $REDIS_PORT"
      echo "bind $BIND_HOST"
      echo "daemonize yes"
      echo "pidfile $dir/redis.pid"
      echo "logfile $dir/server.log"
      echo "dir $dir/data"
      echo "save \"\""
      echo "requirepass \"$(printf '%s' "$REDIS_PASSWORD" | sed 's/[\\"]/\\&/g')\""
      if [[ "$PROFILE" == dev ]]; then
        # The execution queue lives in Redis: dev keeps it across restarts.
        echo "appendonly yes"
        echo "appendfsync everysec"
      else
        echo "appendonly no"
      fi
    } >"$dir/redis.conf"
  )
  rm -f "$dir/redis.pid"
  # With daemonize the parent exits once the child forked; the child writes the pidfile.
  redis-server "$dir/redis.conf" </dev/null >>"$dir/server.log" 2>&1 8>&- 9>&- ||
    { show_log_tail "$dir/server.log"; die "redis-server failed to start"; }
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$dir/redis.pid" ]] && return 0
    sleep 0.1
  done
  show_log_tail "$dir/server.log"
  die "redis-server did not write $dir/redis.pid"
}

# ---------------------------------------------------------------- per-service up/down/status

# Main log of each server (Kafka's log4j file, Mongo's stdout/stderr, Redis's logfile).
service_log() { printf '%s/%s/server.log\n' "$STATE_DIR" "$1"; }

# Brings one service up (or leaves it alone when it runs and answers). Runs in a background job.
service_up() {
  local svc=$1 pid ports main_port
  ports=$(wanted_ports "$svc")
  main_port=${ports%% *}

  if pid=$(service_pid "$svc"); then
    if [[ "$(recorded_ports "$svc")" != "$ports" ]]; then
      log "running on port(s) $(recorded_ports "$svc") but $ports requested: restarting"
      stop_pid "$svc" "$pid"
    elif probe "$svc" "$(recorded_ports "$svc" | cut -d' ' -f1)" 5000 >/dev/null 2>&1; then
      log "already running (pid $pid, port $main_port)"
      return 0
    else
      log "pid $pid does not answer: restarting it"
      stop_pid "$svc" "$pid"
    fi
  fi

  local p
  for p in $ports; do
    if port_in_use "$p"; then
      die "port $p is already in use by a process this script did not start" \
        "(stop it, or choose another port with $(port_env_var "$p"))"
    fi
  done

  "${svc}_ensure_installed"
  mkdir -p "$STATE_DIR/$svc"
  printf '%s\n' "$ports" >"$STATE_DIR/$svc/ports"
  rotate_log "$(service_log "$svc")"
  rotate_log "$STATE_DIR/$svc/stdout.log"
  rotate_log "$STATE_DIR/$svc/storage-tool.log"
  "${svc}_start"

  if ! wait_ready "$svc" "$main_port"; then
    show_log_tail "$(service_log "$svc")"
    [[ "$svc" != redis ]] && show_log_tail "$STATE_DIR/$svc/stdout.log"
    die "$svc did not become ready on $BIND_HOST:$main_port (logs in $STATE_DIR/$svc)"
  fi
  log "started (pid $(service_pid "$svc" || echo '?'), port $main_port)"
}

service_down() {
  local svc=$1 pid pidfile="$STATE_DIR/$1/$1.pid"
  if pid=$(service_pid "$svc"); then
    log "stopping (pid $pid)"
    stop_pid "$svc" "$pid"
    log "stopped"
  elif [[ -e "$pidfile" ]]; then
    log "not running (removed stale pid file)"
  else
    log "not running"
  fi
  rm -f "$pidfile"
}

# Runs `service_<action> <svc>` for all services at once, each line prefixed with its name, and
# sets PARALLEL_FAILED to the services that failed. Always call it as a plain statement: inside
# `if`/`||` bash would switch off `set -e` for the jobs, and a failing step would not stop them.
PARALLEL_FAILED=""
for_all_services_parallel() {
  local action=$1 svc
  local -A jobs=()
  PARALLEL_FAILED=""
  for svc in "${SERVICES[@]}"; do
    { "service_$action" "$svc" 2>&1 | sed -u "s/^/[$svc] /"; } &
    jobs[$svc]=$!
  done
  for svc in "${SERVICES[@]}"; do
    wait "${jobs[$svc]}" || PARALLEL_FAILED+="$svc "
  done
}

# ---------------------------------------------------------------- commands

# One up/down at a time per profile. The lock is on fd 9, which the servers do not inherit
# (spawn_detached and redis_start close it), so it is released when this script exits.
lock_profile() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE_DIR/.infra.lock"
    flock 9
  fi
}

cmd_up() {
  require_cmd java "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"
  require_cmd node "install Node.js 20+"
  mkdir -p "$STATE_DIR"
  local start=$SECONDS
  for_all_services_parallel up
  [[ -z "$PARALLEL_FAILED" ]] ||
    die "'up' failed for: ${PARALLEL_FAILED% } (profile $PROFILE; servers that did start keep running, 'down' stops them)"
  log "profile $PROFILE is up in $((SECONDS - start))s: kafka $BIND_HOST:$KAFKA_PORT" \
    "(controller $KAFKA_CONTROLLER_PORT), mongo $BIND_HOST:$MONGO_PORT, redis $BIND_HOST:$REDIS_PORT"
  log "state and logs: $STATE_DIR"
}

cmd_down() {
  [[ -d "$STATE_DIR" ]] || {
    log "nothing to stop for profile $PROFILE ($STATE_DIR does not exist)"
    return 0
  }
  for_all_services_parallel down
  [[ -z "$PARALLEL_FAILED" ]] || die "'down' failed for: ${PARALLEL_FAILED% }"
}

cmd_status() {
  local svc pid ports state all_up=0
  for svc in "${SERVICES[@]}"; do
    if pid=$(service_pid "$svc"); then
      ports=$(recorded_ports "$svc")
      if probe "$svc" "${ports%% *}" 2000 >/dev/null 2>&1; then
        state=running
      else
        state="not answering"
        all_up=3
      fi
    else
      pid=-
      ports=$(wanted_ports "$svc")
      state=stopped
      all_up=3
    fi
    printf '%-6s %-14s port %-12s pid %s\n' "$svc" "$state" "${ports// /,}" "$pid"
  done
  return "$all_up"
}

cmd_env() {
  printf 'export INTEGR8SCODE_KAFKA_BOOTSTRAP_SERVERS=%s\n' "$BIND_HOST:$KAFKA_PORT"
  printf 'export INTEGR8SCODE_MONGO_HOST=%s\n' "$BIND_HOST"
  printf 'export INTEGR8SCODE_MONGO_PORT=%s\n' "$MONGO_PORT"
  printf 'export INTEGR8SCODE_REDIS_HOST=%s\n' "$BIND_HOST"
  printf 'export INTEGR8SCODE_REDIS_PORT=%s\n' "$REDIS_PORT"
  printf 'export REDIS_PASSWORD=%q\n' "$REDIS_PASSWORD"
  if [[ "$MONGO_SUPPORTS_AUTH" != true ]]; then
    # Empty user: connect without credentials (mongo-java-server has no SCRAM).
    printf 'export MONGO_USER=\n'
  fi
}

main() {
  local cmd="" profile="${INFRA_PROFILE:-}"
  while (($#)); do
    case $1 in
      up | down | status | env)
        [[ -z "$cmd" ]] || die "only one command allowed (got '$cmd' and '$1')"
        cmd=$1
        ;;
      --profile)
        (($# >= 2)) || die "--profile needs a value (dev or test)"
        profile=$2
        shift
        ;;
      --profile=*) profile=${1#--profile=} ;;
      -h | --help)
        usage
        return 0
        ;;
      *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
  done
  [[ -n "$cmd" ]] || {
    usage >&2
    exit 2
  }
  PROFILE=${profile:-dev}

  local kafka_default controller_default mongo_default redis_default
  case $PROFILE in
    dev) kafka_default=9092 controller_default=9093 mongo_default=27017 redis_default=6379 ;;
    test) kafka_default=19092 controller_default=19093 mongo_default=37017 redis_default=16379 ;;
    *) die "unknown profile '$PROFILE' (expected dev or test)" ;;
  esac
  KAFKA_PORT=${INFRA_KAFKA_PORT:-$kafka_default}
  KAFKA_CONTROLLER_PORT=${INFRA_KAFKA_CONTROLLER_PORT:-$controller_default}
  MONGO_PORT=${INFRA_MONGO_PORT:-$mongo_default}
  REDIS_PORT=${INFRA_REDIS_PORT:-$redis_default}
  check_port_value INFRA_KAFKA_PORT "$KAFKA_PORT"
  check_port_value INFRA_KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  check_port_value INFRA_MONGO_PORT "$MONGO_PORT"
  check_port_value INFRA_REDIS_PORT "$REDIS_PORT"
  local all_ports="$KAFKA_PORT $KAFKA_CONTROLLER_PORT $MONGO_PORT $REDIS_PORT"
  if [[ $(tr ' ' '\n' <<<"$all_ports" | sort -u | wc -l) -ne 4 ]]; then
    die "the four ports must differ (kafka, controller, mongo, redis: $all_ports)"
  fi

  CACHE_ROOT=${INFRA_CACHE_DIR:-$HOME/.cache/integr8scode}
  STATE_DIR=${INFRA_STATE_DIR:-$HOME/.local/state/integr8scode/$PROFILE}

  case $cmd in
    up)
      mkdir -p "$STATE_DIR"
      lock_profile
      cmd_up
      ;;
    down)
      [[ -d "$STATE_DIR" ]] && lock_profile
      cmd_down
      ;;
    status) cmd_status ;;
    env) cmd_env ;;
  esac
}

main "$@"
