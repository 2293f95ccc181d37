#!/usr/bin/env bash
# Prints the commit that benchmark results are labelled with: the short hash of HEAD on a clean tree.
# A tree with uncommitted changes to tracked files is refused (exit 3), because its results could not be
# reproduced from any commit; with --dirty it is labelled "<hash>+dirty" instead, and the result files say so.
#
#   bench/provenance.sh [--dirty]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

allow_dirty=0
[[ "${1:-}" == "--dirty" ]] && allow_dirty=1

commit="$(git rev-parse --short HEAD 2>/dev/null)" || { echo "provenance: not a git checkout; results need a commit" >&2; exit 3; }
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  if [[ $allow_dirty == 0 ]]; then
    echo "provenance: the tree has uncommitted changes; commit them, or pass --dirty to label the results $commit+dirty (not reproducible)" >&2
    exit 3
  fi
  commit="$commit+dirty"
fi
echo "$commit"
