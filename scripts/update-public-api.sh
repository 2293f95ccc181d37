#!/usr/bin/env bash
# Declares the public API of the libraries that ship as packages (OrleansGroups.Core, .Abstractions,
# .Client, and .Grains, packed as OrleansGroups.Server) in the PublicAPI.*.txt files beside each
# project. The build fails (RS0016, RS0017) while the code and those files disagree; run this after
# a deliberate API change, then review the diff of the PublicAPI files with the change.
#
#   scripts/update-public-api.sh          rewrite PublicAPI.Unshipped.txt from the code: members added
#                                         or changed since the last release; a released member that is
#                                         gone is listed as *REMOVED* (a breaking change: say so in
#                                         CHANGELOG.md)
#   scripts/update-public-api.sh --ship   at a release: move everything in Unshipped into Shipped
#
# Takes 1–3 minutes on 2 cores (dotnet format runs the analyzer's own code fix, project by project).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PROJECTS=(OrleansGroups.Core OrleansGroups.Abstractions OrleansGroups.Client OrleansGroups.Grains)
HEADER='#nullable enable'

# Prints the declarations of a PublicAPI file without its header, sorted ordinally.
entries() { grep -v -x -F "$HEADER" "$1" | grep -v '^[[:space:]]*$' | LC_ALL=C sort -u || true; }

write() { # write FILE < entries
  { echo "$HEADER"; cat; } > "$1.tmp" && mv "$1.tmp" "$1"
}

if [[ "${1:-}" == "--ship" ]]; then
  for project in "${PROJECTS[@]}"; do
    shipped="src/$project/PublicAPI.Shipped.txt"
    unshipped="src/$project/PublicAPI.Unshipped.txt"
    removed="$(entries "$unshipped" | sed -n 's/^\*REMOVED\*//p')"
    { entries "$shipped" | grep -v -x -F -f <(printf '%s\n' "$removed") || true
      entries "$unshipped" | grep -v '^\*REMOVED\*' || true
    } | LC_ALL=C sort -u | write "$shipped"
    write "$unshipped" < /dev/null
    echo "$project: $(entries "$shipped" | wc -l) shipped"
  done
  exit 0
elif [[ $# -gt 0 ]]; then
  sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
fi

for project in "${PROJECTS[@]}"; do
  dir="src/$project"
  # 1. Start Unshipped from nothing, so changed and deleted unreleased members leave no stale lines.
  write "$dir/PublicAPI.Unshipped.txt" < /dev/null
  # 2. The analyzer's code fix declares every public member missing from both files (RS0016).
  dotnet format analyzers "$dir/$project.csproj" --diagnostics RS0016 --severity warn -v q
done

# 3. Build; members of Shipped that no longer exist (RS0017) become *REMOVED* lines in Unshipped.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
build() { dotnet build src/OrleansGroups.Grains/OrleansGroups.Grains.csproj -c Release -nologo -v q > "$log" 2>&1; }
if ! build; then
  for project in "${PROJECTS[@]}"; do
    dir="src/$project"
    removed="$( (grep -o "$dir/PublicAPI.Shipped.txt([0-9]*,[0-9]*): error RS0017" "$log" || true) \
      | sed 's/.*(\([0-9]*\),.*/\1/' | sort -un \
      | while read -r line; do sed -n "${line}p" "$dir/PublicAPI.Shipped.txt" | sed 's/^/*REMOVED*/'; done)"
    if [[ -n "$removed" ]]; then
      { entries "$dir/PublicAPI.Unshipped.txt"; printf '%s\n' "$removed"; } | LC_ALL=C sort -u | write "$dir/PublicAPI.Unshipped.txt"
    fi
  done
  # 4. What is left is for a person to fix (a compile error, an analyzer finding without a code fix).
  if ! build; then
    grep -E ': error ' "$log" | sort -u | head -20 >&2
    echo "update-public-api.sh: the build still fails (above)" >&2
    exit 1
  fi
fi
git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt' || true
echo "update-public-api.sh: PublicAPI files match the code"
