#!/usr/bin/env bash
# Builds the solution once (Release) and runs every test project.
#
#   scripts/test.sh [extra dotnet test arguments, e.g. --filter Category!=Chaos]
#
# Tests that need Azure Storage start their own Azurite on free ports (from the npm package
# in scripts/azurite, installed here if missing), or use Docker, or the connection string in
# ORLEANSGROUPS_TEST_AZURE_STORAGE when that is set. This script starts nothing itself.
# Ends with one line "N passed, N failed, N skipped" and exits with dotnet test's exit code.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

if [[ ! -x scripts/azurite/node_modules/.bin/azurite ]]; then
  if command -v npm >/dev/null 2>&1; then
    echo "test.sh: installing Azurite (npm ci in scripts/azurite)..." >&2
    (cd scripts/azurite && npm ci --no-audit --no-fund)
  else
    echo "test.sh: npm not found; tests that need Azurite will fail unless Docker or ORLEANSGROUPS_TEST_AZURE_STORAGE provides storage" >&2
  fi
fi

dotnet build OrleansGroups.sln -c Release -nologo -v q

output="$(mktemp)"
trap 'rm -f "$output"' EXIT

set +e
dotnet test OrleansGroups.sln -c Release --no-build -nologo --blame-hang-timeout 10m "$@" 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
set -e

# Per assembly, dotnet test prints e.g.
#   Passed!  - Failed:     0, Passed:    42, Skipped:     1, Total:    43, Duration: 3 s - X.Tests.dll (net10.0)
sed -e 's/\x1b\[[0-9;]*m//g' "$output" \
  | grep -E '^[[:space:]]*(Passed|Failed)![[:space:]]+-[[:space:]]+Failed:' \
  | awk -F'[:,]' '
      { for (i = 1; i < NF; i++) {
          key = $i; gsub(/.*- /, "", key); gsub(/[[:space:]]/, "", key); value = $(i + 1) + 0
          if (key == "Failed") failed += value
          else if (key == "Passed") passed += value
          else if (key == "Skipped") skipped += value
        } }
      END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }'

exit "$status"
