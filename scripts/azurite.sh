#!/usr/bin/env bash
# Runs a local Azurite (Azure Storage emulator) from the npm package pinned in
# scripts/azurite/package.json.
#
#   scripts/azurite.sh start  [--port-base N] [--in-memory] [--data-dir DIR]
#   scripts/azurite.sh stop   [--port-base N]
#   scripts/azurite.sh status [--port-base N]
#
# Ports: blob = N, queue = N+1, table = N+2 (default N = 10000), all on 127.0.0.1.
# Several instances can run side by side with different port bases.
# State: <repo>/.azurite/azurite-N.pid and azurite-N.log; data in <repo>/.azurite/data
# (or data-N for a non-default base, so instances never share database files).
# `start` prints the connection string as its only line on stdout; progress goes to
# stderr, so `conn=$(scripts/azurite.sh start)` works.
# `status` exits 0 when running and 3 when stopped.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
AZURITE_DIR="$SCRIPT_DIR/azurite"
AZURITE_BIN="$AZURITE_DIR/node_modules/.bin/azurite"
STATE_DIR="$REPO_ROOT/.azurite"

START_DEADLINE_SECONDS=60
STOP_GRACE_SECONDS=10
ACCOUNT_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

die() {
  echo "azurite.sh: $*" >&2
  exit 1
}

say() {
  echo "azurite.sh: $*" >&2
}

# ---- arguments -------------------------------------------------------------

[[ $# -ge 1 ]] || { usage; exit 2; }
COMMAND="$1"
shift

PORT_BASE=10000
IN_MEMORY=0
DATA_DIR=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --port-base)
      [[ $# -ge 2 ]] || die "--port-base needs a value"
      PORT_BASE="$2"
      shift 2
      ;;
    --port-base=*)
      PORT_BASE="${1#*=}"
      shift
      ;;
    --in-memory)
      IN_MEMORY=1
      shift
      ;;
    --data-dir)
      [[ $# -ge 2 ]] || die "--data-dir needs a value"
      DATA_DIR="$2"
      shift 2
      ;;
    --data-dir=*)
      DATA_DIR="${1#*=}"
      shift
      ;;
    -h|--help)
      usage
      exit 0
      ;;
    *)
      usage
      die "unknown option: $1"
      ;;
  esac
done

[[ "$PORT_BASE" =~ ^[0-9]+$ ]] || die "--port-base must be a number, got '$PORT_BASE'"
(( PORT_BASE >= 1 && PORT_BASE + 2 <= 65535 )) || die "--port-base must be between 1 and 65533"

BLOB_PORT=$PORT_BASE
QUEUE_PORT=$((PORT_BASE + 1))
TABLE_PORT=$((PORT_BASE + 2))
PID_FILE="$STATE_DIR/azurite-$PORT_BASE.pid"
LOG_FILE="$STATE_DIR/azurite-$PORT_BASE.log"

if [[ -z "$DATA_DIR" ]]; then
  if [[ "$PORT_BASE" == 10000 ]]; then
    DATA_DIR="$STATE_DIR/data"
  else
    DATA_DIR="$STATE_DIR/data-$PORT_BASE"
  fi
fi

CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$ACCOUNT_KEY;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$TABLE_PORT/devstoreaccount1;"

# ---- helpers ---------------------------------------------------------------

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  if command -v nc >/dev/null 2>&1; then
    nc -z -w 1 127.0.0.1 "$1" >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1
  fi
}

all_ports_open() {
  port_open "$BLOB_PORT" && port_open "$QUEUE_PORT" && port_open "$TABLE_PORT"
}

# Prints the PID from the pid file when that process is alive and is Azurite.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled PID that now belongs to something else.
  if command -v ps >/dev/null 2>&1; then
    ps -p "$pid" -o args= 2>/dev/null | grep -q azurite || return 1
  fi
  echo "$pid"
}

ensure_installed() {
  if [[ ! -x "$AZURITE_BIN" ]]; then
    command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js 20+ (with npm) to run Azurite"
    say "installing Azurite (npm ci in scripts/azurite)..."
    (cd "$AZURITE_DIR" && npm ci --no-audit --no-fund) >&2
    [[ -x "$AZURITE_BIN" ]] || die "npm ci finished but $AZURITE_BIN is missing"
  fi
}

# ---- commands --------------------------------------------------------------

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    say "already running on port base $PORT_BASE (pid $pid); nothing to do"
    echo "$CONNECTION_STRING"
    return 0
  fi
  rm -f "$PID_FILE"

  for port in "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT"; do
    if port_open "$port"; then
      die "port $port is already in use by another process; choose another --port-base"
    fi
  done

  command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20+ to run Azurite"
  ensure_installed
  mkdir -p "$STATE_DIR"

  local -a storage_args
  if [[ "$IN_MEMORY" == 1 ]]; then
    storage_args=(--inMemoryPersistence)
  else
    mkdir -p "$DATA_DIR"
    storage_args=(--location "$DATA_DIR")
  fi

  # nohup execs the binary (whose shebang execs node), so $! is the node PID.
  nohup "$AZURITE_BIN" --silent --disableTelemetry --skipApiVersionCheck --loose \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    --blobPort "$BLOB_PORT" --queuePort "$QUEUE_PORT" --tablePort "$TABLE_PORT" \
    "${storage_args[@]}" >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_DEADLINE_SECONDS))
  until all_ports_open; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      say "Azurite exited during startup; last lines of $LOG_FILE:"
      tail -n 20 "$LOG_FILE" >&2 || true
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      say "Azurite did not open ports $BLOB_PORT-$TABLE_PORT within ${START_DEADLINE_SECONDS}s; last lines of $LOG_FILE:"
      tail -n 20 "$LOG_FILE" >&2 || true
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      exit 1
    fi
    sleep 0.1
  done

  local where="data in $DATA_DIR"
  [[ "$IN_MEMORY" == 1 ]] && where="in memory"
  say "started (pid $pid, blob/queue/table on 127.0.0.1:$BLOB_PORT/$QUEUE_PORT/$TABLE_PORT, $where, log $LOG_FILE)"
  echo "$CONNECTION_STRING"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running on port base $PORT_BASE"
    return 0
  fi

  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_GRACE_SECONDS))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      say "pid $pid ignored SIGTERM for ${STOP_GRACE_SECONDS}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      # Wait (briefly) for the kernel to reap it and release the ports.
      local i
      for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      break
    fi
    sleep 0.1
  done
  rm -f "$PID_FILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running (pid $pid, blob/queue/table on 127.0.0.1:$BLOB_PORT/$QUEUE_PORT/$TABLE_PORT)"
    return 0
  fi
  echo "stopped"
  return 3
}

case "$COMMAND" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *)
    usage
    die "unknown command: $COMMAND (expected start, stop or status)"
    ;;
esac
