#!/bin/bash
# Runs on the lent GPU machine from the repo root (after bench/gpu/bundle.sh here):
#   source .gpu/setup.sh && bash bench/gpu/run.sh
# Golden check (every depth vs torchvision), tiling sweep, then the bench with both peers (tilings autotuned
# at load for each batch size), again with the built-in tiling policy only (--autotune off), with
# every conv direct (--winograd off), F(2x2,3x3) and F(4x4,3x3) wherever they fit; JSON into $OUT.
set -u
out=${OUT:-/tmp/out}; mkdir -p "$out"
export ORT_WEB_DIST=/tmp/ort
mkdir -p $ORT_WEB_DIST && cp .gpu/ort/*.mjs $ORT_WEB_DIST/
[ -f $ORT_WEB_DIST/ort-wasm-simd-threaded.asyncify.wasm ] || xz -dc .gpu/ort/ort-wasm-simd-threaded.asyncify.wasm.xz > $ORT_WEB_DIST/ort-wasm-simd-threaded.asyncify.wasm
# one JSON per step, every step's stderr in one log (few files come back from the machine)
step() { local name=$1; shift; local t0=$SECONDS; echo "== $name" >> "$out/run.log"; "$@" > "$out/$name.json" 2>> "$out/run.log"; echo "$name: exit $? in $((SECONDS - t0)) s"; }
step golden node .gpu/golden-check.mjs --golden .gpu/golden.json --json
step tune node .gpu/tune.mjs --weights .gpu/model.json --batch 1,8,32 --runs 15 --json ${TUNE_POLICIES:+--policies "$TUNE_POLICIES"}
# tilings timed at load for each batch size (the default tunes batch 1 only), then the built-in policy alone
step bench-resnet50 node .gpu/bench.mjs --weights .gpu/model.json --random-weights --batch 1,8,32 --runs 20 --warmup 3 --peers tfjs,ort --autotune 1,8,32 --profile --json
step bench-resnet50-untuned node .gpu/bench.mjs --weights .gpu/model.json --random-weights --batch 1,8,32 --runs 20 --warmup 3 --peers none --autotune off --profile --json
# the same without Winograd (every conv direct), and with one Winograd variant wherever it fits: which
# default the tiled loop should have on a GPU
step bench-resnet50-direct node .gpu/bench.mjs --weights .gpu/model.json --random-weights --batch 1,8,32 --runs 20 --warmup 3 --peers none --winograd off --profile --json
step bench-resnet50-f2 node .gpu/bench.mjs --weights .gpu/model.json --random-weights --batch 1,8,32 --runs 20 --warmup 3 --peers none --winograd 2 --profile --json
step bench-resnet50-f4 node .gpu/bench.mjs --weights .gpu/model.json --random-weights --batch 1,8,32 --runs 20 --warmup 3 --peers none --winograd 4 --profile --json
for m in ${MODELS:-}; do step "bench-$m" node .gpu/bench.mjs --model "$m" --batch 1,32 --runs 10 --warmup 2 --peers ort --json; done
