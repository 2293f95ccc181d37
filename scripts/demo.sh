#!/usr/bin/env bash
# Builds and runs the og CLI's demo: a topic with 4 partitions, two consumers in a group,
# a third joins, one dies, with a live assignment table.
#
#   scripts/demo.sh [demo options]
#
# The demo starts its own Azurite when the npm package in scripts/azurite is installed
# (installed here if missing), else it runs in memory.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

if [[ ! -x scripts/azurite/node_modules/.bin/azurite ]]; then
  if command -v npm >/dev/null 2>&1; then
    echo "demo.sh: installing Azurite (npm ci in scripts/azurite)..." >&2
    (cd scripts/azurite && npm ci --no-audit --no-fund) >&2
  else
    echo "demo.sh: npm not found; the demo will run in memory" >&2
  fi
fi

dotnet build src/OrleansGroups.Cli -c Release -nologo -v q
exec dotnet run --project src/OrleansGroups.Cli -c Release --no-build -- demo "$@"
