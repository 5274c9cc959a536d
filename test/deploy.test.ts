/**
 * deploy/: the Kubernetes manifests validated against the Kubernetes API's schemas (kubernetes-models, generated
 * from the API's OpenAPI) and the KServe ones against KServe's own CRD schemas (test/fixtures/kserve-crd-schemas.json.gz
 * from kserve/kserve's config/crd/full, scripts/kserve-schemas.mjs) with unknown fields refused, as
 * `kubectl apply --validate=strict` would; each container's arguments parsed by the CLI's own parser; the probes on
 * the server's health endpoints; the Dockerfile's sources present. Kubernetes itself does not run here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Ajv from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parse as parseCli } from '../src/cli/args.js';
import { packageRoot } from '../src/node/paths.js';

const root = packageRoot();
const manifest = (path: string) => parseYaml(readFileSync(join(root, 'deploy', path), 'utf8'));
type Json = Record<string, unknown>;

/** A CRD schema with every object that lists its properties closed to others (strict field validation). */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const s = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, strict(v)])) as Json;
  if (s.properties && s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields'])
    s.additionalProperties = false;
  return s;
}

function kserveValidator(kind: string): (doc: unknown) => string[] {
  const fixture = JSON.parse(
    gunzipSync(readFileSync(join(root, 'test', 'fixtures', 'kserve-crd-schemas.json.gz'))).toString(),
  );
  const crd = fixture.crds.find((c: { kind: string }) => c.kind === kind);
  const ajv = new Ajv({ strict: false, allErrors: true });
  const schema = strict(crd.schema) as Json;
  // (metadata is ObjectMeta, which the CRD leaves open: the Kubernetes schema checks it elsewhere)
  const validate = ajv.compile({
    ...schema,
    properties: { ...(schema.properties as Json), metadata: { type: 'object' } },
  });
  return (doc) =>
    validate(doc) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

/** The CLI's reading of a container's arguments after the image's entrypoint (`serve --host 0.0.0.0`). */
const cliArgs = (args: string[]) =>
  parseCli(['serve', '--host', '0.0.0.0', ...args.map((a) => a.replace('{{.Name}}', 'm'))]);

describe('deploy/', () => {
  it('Deployment, Service and HorizontalPodAutoscaler are valid Kubernetes objects, wired to the server', () => {
    const deployment = manifest('kubernetes/deployment.yaml');
    const objects = [
      new Deployment(deployment),
      new Service(manifest('kubernetes/service.yaml')),
      new HorizontalPodAutoscaler(manifest('kubernetes/hpa.yaml')),
    ];
    for (const o of objects) expect(() => o.validate(), o.kind).not.toThrow();
    // the validator is not a no-op: a wrong type is refused
    const broken = structuredClone(deployment);
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken).validate()).toThrow();
    const container = deployment.spec.template.spec.containers[0];
    const flags = cliArgs(container.args).flags;
    expect(flags.get('--model')).toBe('resnet50=/models/resnet50-int8.safetensors');
    expect(container.readinessProbe.httpGet.path).toBe('/v2/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/v2/health/live');
    expect(container.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([8000, 8001]);
    // the drain finishes before Kubernetes kills the pod
    expect(Number(flags.get('--drain-timeout'))).toBeLessThan(
      deployment.spec.template.spec.terminationGracePeriodSeconds,
    );
    console.log('kubernetes-models: Deployment, Service, HorizontalPodAutoscaler valid');
  });

  it("ServingRuntime and InferenceService are valid against KServe's CRD schemas, strictly", () => {
    const runtime = manifest('kserve/servingruntime.yaml');
    const isvc = manifest('kserve/inferenceservice.yaml');
    const runtimeErrors = kserveValidator('ServingRuntime')(runtime);
    const isvcErrors = kserveValidator('InferenceService')(isvc);
    console.log(
      `KServe CRD schemas: ServingRuntime ${runtimeErrors.length} errors, InferenceService ${isvcErrors.length} errors`,
    );
    expect(runtimeErrors).toEqual([]);
    expect(isvcErrors).toEqual([]);
    const typo = structuredClone(isvc);
    typo.spec.predictor.model.storageURI = typo.spec.predictor.model.storageUri;
    expect(kserveValidator('InferenceService')(typo).join()).toMatch(/must NOT have additional properties.*storageURI/);
    expect(isvc.spec.predictor.model.modelFormat.name).toBe(runtime.spec.supportedModelFormats[0].name);
    expect(runtime.spec.protocolVersions).toEqual(['v2', 'grpc-v2']);
    const flags = cliArgs(runtime.spec.containers[0].args).flags;
    expect([flags.get('--port'), flags.get('--grpc-port')]).toEqual(['8080', '8081']);
    expect(runtime.spec.containers[0].readinessProbe.httpGet.path).toBe('/v2/health/ready');
  });

  it('the Dockerfile copies what the repository has and runs the CLI', () => {
    const docker = readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8');
    for (const [, from] of docker.matchAll(/^COPY --from=build \/src\/(\S+)/gm))
      if (from !== 'node_modules' && from !== 'dist') expect(existsSync(join(root, from!)), from).toBe(true);
    expect(docker).toMatch(/ENTRYPOINT \["node", "dist\/cli.js", "serve", "--host", "0.0.0.0"\]/);
    expect(docker).toMatch(/EXPOSE 8000 8001/);
  });
});
