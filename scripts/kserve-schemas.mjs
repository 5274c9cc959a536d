#!/usr/bin/env node
// The KServe CRDs' schemas the deploy tests validate against (test/deploy.test.ts): the openAPIV3Schema of
// InferenceService (serving.kserve.io/v1beta1) and ServingRuntime (v1alpha1) from a checkout of kserve/kserve
// (config/crd/full/), descriptions left out, written gzipped to test/fixtures/kserve-crd-schemas.json.gz.
//   node scripts/kserve-schemas.mjs <inferenceservices.yaml> <servingruntimes.yaml> <kserve commit>
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';

const [isvc, runtime, commit] = process.argv.slice(2);
if (!commit)
  throw new Error('usage: node scripts/kserve-schemas.mjs <inferenceservices.yaml> <servingruntimes.yaml> <commit>');
const strip = (v) =>
  Array.isArray(v)
    ? v.map(strip)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'description')
            .map(([k, x]) => [k, strip(x)]),
        )
      : v;
const schemaOf = (file, version) => {
  const crd = parse(readFileSync(file, 'utf8'));
  const v = crd.spec.versions.find((x) => x.name === version);
  return { group: crd.spec.group, kind: crd.spec.names.kind, version, schema: strip(v.schema.openAPIV3Schema) };
};
const out = {
  source: `kserve/kserve ${commit}, config/crd/full`,
  crds: [schemaOf(isvc, 'v1beta1'), schemaOf(runtime, 'v1alpha1')],
};
writeFileSync('test/fixtures/kserve-crd-schemas.json.gz', gzipSync(JSON.stringify(out), { level: 9 }));
console.log(`${out.crds.map((c) => `${c.kind} ${c.version}`).join(', ')} from ${out.source}`);
