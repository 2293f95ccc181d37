#!/usr/bin/env bash
# A local multi-silo OrleansGroups cluster on loopback: Azurite for storage and membership (Azure Table
# clustering), N silo processes with fast membership (a killed silo is declared dead in about a second).
#
#   scripts/cluster.sh up N [options]   start Azurite (unless running) and N silos; wait until all are ready
#   scripts/cluster.sh status [options] show the silos and Azurite (exit 0 when every silo runs, else 3)
#   scripts/cluster.sh down [options]   SIGTERM every silo (SIGKILL after --stop-timeout); stop Azurite if `up` started it
#
# Options:
#   --silo-port-base P     silo i (0-based) listens on P+i for silos     (default 11111)
#   --gateway-port-base P  ... on P+i for clients (the gateways printed)  (default 30000)
#   --health-port-base P   ... on P+i for GET /healthz, /readyz           (default 8080)
#   --azurite-port-base P  Azurite blob/queue/table on P, P+1, P+2        (default 10000)
#   --azurite-in-memory    a new Azurite keeps its data in memory (default: <repo>/.azurite/data*)
#   --cluster-id ID        (default dev)      --service-id ID   (default orleansgroups)
#   --configuration C      build configuration of the silo (default Release)
#   --no-build             use the silo already built for that configuration
#   --timeout S            seconds to wait for every silo's ready line (default 120)
#   --stop-timeout S       seconds `down` waits after SIGTERM before SIGKILL (default 30)
#   --state-dir DIR        pids and logs (default <repo>/.cluster, git-ignored)
#
# Fast membership settings (the silo's --fast-membership): ProbeTimeout 1 s, NumMissedProbesLimit 2,
# NumVotesForDeathDeclaration 1, TableRefreshTimeout 1 s, IAmAliveTablePublishTimeout 5 s,
# DeathVoteExpirationTimeout 10 s. For local clusters and tests only: production keeps Orleans' defaults.
# Connect with the CLI: og --gateway 127.0.0.1:30000 ..., or og --clustering azure --connection-string "$(scripts/azurite.sh start)".
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SILO_PROJECT="$REPO_ROOT/src/OrleansGroups.Silo"

usage() {
  sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

say() {
  echo "cluster.sh: $*" >&2
}

# ---- arguments -------------------------------------------------------------

[[ $# -ge 1 ]] || { usage; exit 2; }
COMMAND="$1"
shift
COUNT=""
if [[ "$COMMAND" == "up" ]]; then
  [[ $# -ge 1 && "$1" =~ ^[0-9]+$ ]] || { usage; die "up needs the number of silos, e.g. 'up 3'"; }
  COUNT="$1"
  shift
  (( COUNT >= 1 && COUNT <= 20 )) || die "the number of silos must be between 1 and 20"
fi

SILO_PORT_BASE=11111
GATEWAY_PORT_BASE=30000
HEALTH_PORT_BASE=8080
AZURITE_PORT_BASE=10000
CLUSTER_ID=dev
SERVICE_ID=orleansgroups
CONFIGURATION=Release
BUILD=1
READY_TIMEOUT=120
STOP_TIMEOUT=30
STATE_DIR="$REPO_ROOT/.cluster"
AZURITE_ARGS=()

need_value() {
  [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --silo-port-base) need_value "$@"; SILO_PORT_BASE="$2"; shift 2 ;;
    --gateway-port-base) need_value "$@"; GATEWAY_PORT_BASE="$2"; shift 2 ;;
    --health-port-base) need_value "$@"; HEALTH_PORT_BASE="$2"; shift 2 ;;
    --azurite-port-base) need_value "$@"; AZURITE_PORT_BASE="$2"; shift 2 ;;
    --cluster-id) need_value "$@"; CLUSTER_ID="$2"; shift 2 ;;
    --service-id) need_value "$@"; SERVICE_ID="$2"; shift 2 ;;
    --configuration) need_value "$@"; CONFIGURATION="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --azurite-in-memory) AZURITE_ARGS+=(--in-memory); shift ;;
    --timeout) need_value "$@"; READY_TIMEOUT="$2"; shift 2 ;;
    --stop-timeout) need_value "$@"; STOP_TIMEOUT="$2"; shift 2 ;;
    --state-dir) need_value "$@"; STATE_DIR="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown option: $1" ;;
  esac
done

for number in "$SILO_PORT_BASE" "$GATEWAY_PORT_BASE" "$HEALTH_PORT_BASE" "$AZURITE_PORT_BASE" "$READY_TIMEOUT" "$STOP_TIMEOUT"; do
  [[ "$number" =~ ^[0-9]+$ ]] || die "'$number' is not a number"
done

SILO_DLL="$SILO_PROJECT/bin/$CONFIGURATION/net10.0/OrleansGroups.Silo.dll"
AZURITE_STARTED_FILE="$STATE_DIR/azurite-started"

# ---- helpers ---------------------------------------------------------------

# The pid in $1 when that process is alive and is a silo.
live_pid() {
  [[ -f "$1" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  if command -v ps >/dev/null 2>&1; then
    ps -p "$pid" -o args= 2>/dev/null | grep -q OrleansGroups.Silo || return 1
  fi
  echo "$pid"
}

silo_pid_files() {
  [[ -d "$STATE_DIR" ]] || return 0
  find "$STATE_DIR" -maxdepth 1 -name 'silo-*.pid' | sort -V
}

# ---- commands --------------------------------------------------------------

cmd_up() {
  mkdir -p "$STATE_DIR"
  local file
  for file in $(silo_pid_files); do
    if live_pid "$file" >/dev/null; then
      die "a cluster is already running (state in $STATE_DIR); run 'scripts/cluster.sh down' first"
    fi
    rm -f "$file"
  done

  if [[ "$BUILD" == 1 ]]; then
    say "building the silo ($CONFIGURATION)..."
    dotnet build "$SILO_PROJECT" -c "$CONFIGURATION" -nologo -v q >&2
  fi
  [[ -f "$SILO_DLL" ]] || die "$SILO_DLL is missing: build it (or drop --no-build)"

  # Azurite: reuse one that runs on this port base, else start one and remember to stop it.
  local connection_string
  if "$SCRIPT_DIR/azurite.sh" status --port-base "$AZURITE_PORT_BASE" >/dev/null 2>&1; then
    rm -f "$AZURITE_STARTED_FILE"
    connection_string="$("$SCRIPT_DIR/azurite.sh" start --port-base "$AZURITE_PORT_BASE" 2>/dev/null)"
  else
    connection_string="$("$SCRIPT_DIR/azurite.sh" start --port-base "$AZURITE_PORT_BASE" "${AZURITE_ARGS[@]}")"
    echo "$AZURITE_PORT_BASE" >"$AZURITE_STARTED_FILE"
  fi

  local i
  for ((i = 0; i < COUNT; i++)); do
    local log="$STATE_DIR/silo-$i.log"
    # setsid: the silo gets its own session, so it outlives this script and ignores the terminal's Ctrl+C.
    setsid dotnet "$SILO_DLL" \
      --storage azure --clustering azure --connection-string "$connection_string" --fast-membership \
      --cluster-id "$CLUSTER_ID" --service-id "$SERVICE_ID" --advertised-ip 127.0.0.1 \
      --silo-port $((SILO_PORT_BASE + i)) --gateway-port $((GATEWAY_PORT_BASE + i)) \
      --health-port $((HEALTH_PORT_BASE + i)) \
      >"$log" 2>&1 </dev/null &
    echo $! >"$STATE_DIR/silo-$i.pid"
  done

  local deadline=$((SECONDS + READY_TIMEOUT))
  for ((i = 0; i < COUNT; i++)); do
    local log="$STATE_DIR/silo-$i.log"
    until grep -q "OrleansGroups silo ready" "$log" 2>/dev/null; do
      if ! live_pid "$STATE_DIR/silo-$i.pid" >/dev/null; then
        say "silo $i exited during startup; last lines of $log:"
        tail -n 20 "$log" >&2 || true
        cmd_down
        exit 1
      fi
      if (( SECONDS >= deadline )); then
        say "silo $i was not ready within ${READY_TIMEOUT}s; last lines of $log:"
        tail -n 20 "$log" >&2 || true
        cmd_down
        exit 1
      fi
      sleep 0.2
    done
  done

  say "$COUNT silos ready (cluster '$CLUSTER_ID', service '$SERVICE_ID'; logs in $STATE_DIR)"
  for ((i = 0; i < COUNT; i++)); do
    echo "gateway 127.0.0.1:$((GATEWAY_PORT_BASE + i))"
  done
}

cmd_status() {
  local file any=0 stopped=0
  for file in $(silo_pid_files); do
    any=1
    local name pid
    name="$(basename "$file" .pid)"
    if pid="$(live_pid "$file")"; then
      echo "$name running (pid $pid): $(grep -o 'OrleansGroups silo ready: .*' "$STATE_DIR/$name.log" 2>/dev/null | head -n 1 || echo starting)"
    else
      echo "$name stopped"
      stopped=1
    fi
  done
  [[ "$any" == 1 ]] || echo "no silos (state in $STATE_DIR)"
  echo "azurite: $("$SCRIPT_DIR/azurite.sh" status --port-base "$AZURITE_PORT_BASE" 2>/dev/null || true)"
  [[ "$any" == 1 && "$stopped" == 0 ]] || return 3
}

cmd_down() {
  local file pids=()
  for file in $(silo_pid_files); do
    local pid
    if pid="$(live_pid "$file")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done

  # Graceful first: each silo drains (grains deactivate, it leaves the membership table) and exits 0.
  local deadline=$((SECONDS + STOP_TIMEOUT)) pid
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if (( SECONDS >= deadline )); then
        say "pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  done
  for file in $(silo_pid_files); do
    rm -f "$file"
  done
  say "stopped ${#pids[@]} silo(s)"

  if [[ -f "$AZURITE_STARTED_FILE" ]]; then
    "$SCRIPT_DIR/azurite.sh" stop --port-base "$(tr -dc '0-9' <"$AZURITE_STARTED_FILE")"
    rm -f "$AZURITE_STARTED_FILE"
  fi
}

case "$COMMAND" in
  up) cmd_up ;;
  status) cmd_status ;;
  down) cmd_down ;;
  -h|--help|help) usage ;;
  *)
    usage
    die "unknown command: $COMMAND (expected up, down or status)"
    ;;
esac
