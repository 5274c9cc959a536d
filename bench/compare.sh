#!/bin/bash
# The engine as it is against the engine at an earlier commit, in one run on this adapter: builds <rev> in
# a throwaway worktree (using this checkout's node_modules), then runs both benches in turn, `rounds`
# times, with the same arguments (peers in the first round only). For speed work: "before" and "after"
# measured side by side rather than on different days.
#   bash bench/compare.sh <rev> [rounds] -- <npm run bench arguments, e.g. --random-weights --batch 1,8 --peers none>
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/compare.sh <rev> [rounds] -- <bench arguments>}; shift
rounds=1
if [ "${1:-}" != "--" ] && [ -n "${1:-}" ]; then rounds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
base=$(mktemp -d /tmp/webgpu-resnet-base.XXXXXX)
trap 'git worktree remove --force "$base" >/dev/null 2>&1 || rm -rf "$base"' EXIT
git worktree add --detach --quiet "$base" "$rev"
ln -s "$PWD/node_modules" "$base/node_modules"
(cd "$base" && node scripts/build.mjs --quiet)
node scripts/build.mjs --quiet
for ((i = 1; i <= rounds; i++)); do
  args=("$@")
  if ((i > 1)); then args+=(--peers none); fi
  echo "== round $i: $rev ($(git rev-parse --short "$rev"))"
  (cd "$base" && node dist/bench.js "${args[@]}")
  echo "== round $i: working tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', with changes'))"
  node dist/bench.js "${args[@]}"
done
