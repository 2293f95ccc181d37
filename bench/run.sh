#!/usr/bin/env bash
# Runs the benchmarks in Release and writes bench/results/produce-<yyyy-MM-dd>.json and .md
# (the markdown table is also printed).
#
#   bench/run.sh [benchmark options]      e.g. --storage memory, --repetitions 5; --help lists them
#
# Installs Azurite's pinned npm package (npm ci in scripts/azurite) when it is missing. The benchmark
# starts its own Azurite on free ports and an in-process silo, and stops both when it ends.
# About 3-4 minutes on a 2-core machine.
#
#   bench/run.sh peer [peer options]      OrleansGroups next to Redis Streams consumer groups (issue 8); --help lists them
#
# Writes bench/results/peer-<yyyy-MM-dd>.json and .md. Installs redis-server with apt-get when it is missing; the
# benchmark starts its own redis-server (AOF, appendfsync everysec, temporary directory, free loopback port) and
# an in-process silo, and stops both when it ends. About 2 minutes with the defaults (memory storage).
#
#   bench/run.sh consume [consume options] consumer latency (200/s) and group throughput (1/2/4 consumers, 8 partitions),
#                                         memory and Azurite next to Redis Streams (issue 5); --help lists the options.
#                                         Writes bench/results/consume-<yyyy-MM-dd>.json and .md. About 4 minutes.
#
#   bench/run.sh all                      every benchmark in turn: produce, peer (memory and Azurite), consume, groups;
#                                         then bench/RESULTS.md points at the fresh results. About 8-10 minutes.
#
# Results name the commit they were measured on (bench/provenance.sh): a tree with uncommitted changes is refused
# unless --dirty is given anywhere on the command line, and then its results are labelled "<hash>+dirty".
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

dirty_flag=""
args=()
for arg in "$@"; do
  if [[ "$arg" == "--dirty" ]]; then dirty_flag="--dirty"; else args+=("$arg"); fi
done
set -- "${args[@]+"${args[@]}"}"
commit="$(bash bench/provenance.sh $dirty_flag)"

if [[ "${1:-}" == "all" ]]; then
  shift
  bash bench/run.sh "$@" $dirty_flag
  bash bench/run.sh peer --storage both $dirty_flag
  bash bench/run.sh consume --storage both $dirty_flag
  dotnet build bench/OrleansGroups.Bench.Groups/OrleansGroups.Bench.Groups.csproj -c Release -nologo -v q
  dotnet bench/OrleansGroups.Bench.Groups/bin/Release/net10.0/OrleansGroups.Bench.Groups.dll --repetitions 3 \
    --commit "$commit"
  echo "run.sh: results in bench/results/ (produce-, peer-, consume- and groups-$(date -u +%Y-%m-%d).md); bench/RESULTS.md summarises them" >&2
  exit 0
fi

with_redis=0
mode=""
if [[ "${1:-}" == "peer" || "${1:-}" == "consume" ]]; then
  with_redis=1
  mode="$1"
  if ! command -v redis-server >/dev/null 2>&1 && [[ ! -x /usr/bin/redis-server ]]; then
    echo "run.sh: installing redis-server (apt-get)..." >&2
    sudo_cmd=""
    if [[ "$(id -u)" != "0" ]]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get install -y redis-server >/dev/null || { $sudo_cmd apt-get update >/dev/null && $sudo_cmd apt-get install -y redis-server >/dev/null; }
  fi
fi

needs_azurite=1
# peer runs memory unless asked for Azurite; consume runs both unless asked for memory only.
if [[ "$mode" == "peer" ]] && [[ " $* " != *" azure "* && " $* " != *" both "* ]]; then
  needs_azurite=0
fi
if [[ "$mode" == "consume" ]] && [[ " $* " == *" --storage memory "* ]]; then
  needs_azurite=0
fi
if [[ $needs_azurite == 1 && ! -x scripts/azurite/node_modules/.bin/azurite ]]; then
  command -v npm >/dev/null 2>&1 || { echo "run.sh: npm is needed to install Azurite (scripts/azurite)" >&2; exit 1; }
  echo "run.sh: installing Azurite (npm ci in scripts/azurite)..." >&2
  (cd scripts/azurite && npm ci --no-audit --no-fund)
fi

echo "run.sh: building (Release)..." >&2
dotnet build bench/OrleansGroups.Bench/OrleansGroups.Bench.csproj -c Release -nologo -v q

if [[ $with_redis == 1 ]]; then
  shift
  exec dotnet bench/OrleansGroups.Bench/bin/Release/net10.0/OrleansGroups.Bench.dll "$mode" --commit "$commit" "$@"
fi
exec dotnet bench/OrleansGroups.Bench/bin/Release/net10.0/OrleansGroups.Bench.dll --commit "$commit" "$@"
