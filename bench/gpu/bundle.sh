#!/bin/bash
# Bundles the bench, the tiling sweep and the golden check into .gpu/ (git-ignored) for the lent GPU
# machine, which has no Node, no npm and no network: first ../shared/device/prepare-gpu-carry.sh (Node,
# Dawn, Vulkan loader), then this. On the machine: bash bench/gpu/run.sh (writes JSON into $OUT).
set -eu
cd "$(git rev-parse --show-toplevel)"
[ -f .gpu/setup.sh ] || ../shared/device/prepare-gpu-carry.sh
rm -f .gpu/*.mjs
banner="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
for entry in bench/bench.ts bench/tune.ts bench/golden-check.ts; do
  npx esbuild "$entry" --bundle --platform=node --format=esm --external:webgpu --external:sharp --loader:.wgsl=text \
    --outfile=".gpu/$(basename "$entry" .ts).mjs" --banner:js="$banner" --log-level=warning
done
node scripts/build.mjs --quiet
cp "$(node --input-type=module -e "import('./dist/node.js').then((m) => console.log(m.pretrainedModelPath()))")" .gpu/model.json
cp ../shared/golden/torchvision-resnet-golden.json .gpu/golden.json
# ONNX Runtime Web's WebGPU build and its wasm (compressed: the transfer is limited to 64 MiB)
ort=node_modules/onnxruntime-web/dist
mkdir -p .gpu/ort
cp $ort/ort.webgpu.min.mjs $ort/ort-wasm-simd-threaded.asyncify.mjs .gpu/ort/
[ -f .gpu/ort/ort-wasm-simd-threaded.asyncify.wasm.xz ] || xz -T2 -6 -c $ort/ort-wasm-simd-threaded.asyncify.wasm > .gpu/ort/ort-wasm-simd-threaded.asyncify.wasm.xz
du -sh .gpu
