/**
 * Broken and mismatched model files through the public API, one test each (TF.js layers files, safetensors
 * headers, ONNX, depth, precision, URLs): a ModelFormatError (or the error its cause calls for) naming the
 * file and the problem, and afterwards the loaded model still classifies a photo exactly as before.
 */
import { createServer } from 'node:http';
import { describe, it } from 'vitest';
import { InputError, ModelFormatError } from '../src/index.js';
import { graphToOnnx } from '../src/export/onnx.js';
import { loadResNet } from '../src/node.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { appendNode } from './helpers/onnx.js';
import { r18, safetensorsWith, useBadInputs } from './helpers/bad-inputs.js';

const { ctx, refused, kerasWith } = useBadInputs();

describe('TF.js layers files', () => {
  it('model.json that is not JSON', async () => {
    await refused(
      () => loadResNet({ source: { modelJson: '{"modelTopology": ', weights: ctx.keras.weights } }),
      ModelFormatError,
      /model\.json: not valid JSON/,
    );
  });
  it('model.json without layers', async () => {
    await refused(
      () =>
        loadResNet({
          source: kerasWith((m) => {
            m.modelJson.modelTopology.model_config.config.layers = undefined as never;
          }),
        }),
      ModelFormatError,
      /layers/,
    );
  });
  it('an unknown layer class', async () => {
    const source = kerasWith((m) => {
      m.modelJson.modelTopology.model_config.config.layers[5]!.class_name = 'LayerNormalization';
    });
    const name = ctx.keras.modelJson.modelTopology.model_config.config.layers[5]!.name;
    await refused(
      () => loadResNet({ source }),
      ModelFormatError,
      `layer ${name} (LayerNormalization): layer class LayerNormalization is not supported`,
    );
  });
  it('a missing shard', async () => {
    await refused(
      () =>
        loadResNet({
          source: kerasWith((m) => {
            delete m.weights['group1-shard7of25.bin'];
          }),
        }),
      ModelFormatError,
      /group1-shard7of25\.bin: (file not found|missing)/,
    );
  });
  it('a shard shorter than its manifest', async () => {
    const source = kerasWith((m) => {
      m.weights['group1-shard25of25.bin'] = (m.weights['group1-shard25of25.bin'] as Uint8Array).subarray(0, 1000);
    });
    await refused(
      () => loadResNet({ source }),
      ModelFormatError,
      /memory:group1-shard25of25\.bin is 1000 bytes, expected 1883552 \(truncated; weight group 1 is \d+ bytes in 25 shards, its manifest describes \d+\)/,
    );
  });
  it('a shard longer than its manifest', async () => {
    const source = kerasWith((m) => {
      const s = m.weights['group1-shard25of25.bin'] as Uint8Array;
      const longer = new Uint8Array(s.length + 4096);
      longer.set(s);
      m.weights['group1-shard25of25.bin'] = longer;
    });
    await refused(
      () => loadResNet({ source }),
      ModelFormatError,
      /group1-shard25of25\.bin is 1887648 bytes, expected 1883552 \(too long;/,
    );
  });
  it('a shard path with .. (no path traversal)', async () => {
    const source = kerasWith((m) => {
      m.modelJson.weightsManifest[0]!.paths[0] = '../../etc/passwd';
    });
    await refused(() => loadResNet({ source }), ModelFormatError, 'refusing file path "../../etc/passwd"');
  });
});

describe('safetensors files', () => {
  it('a header length past the end of the file', async () => {
    const bytes = writeSafetensors(r18.params);
    new DataView(bytes.buffer).setUint32(0, bytes.length, true);
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      /header length \d+ runs past the end of the file/,
    );
  });
  it('data offsets out of range', async () => {
    const bytes = safetensorsWith((h) => {
      h['fc.bias']!.data_offsets = [h['fc.bias']!.data_offsets[0], 1e12];
    });
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      /tensor fc\.bias: data_offsets \[\d+, 1000000000000\] run past the data section/,
    );
  });
  it('overlapping tensors', async () => {
    const bytes = safetensorsWith((h) => {
      h['fc.bias']!.data_offsets = [h['fc.weight']!.data_offsets[0], h['fc.weight']!.data_offsets[0] + 4000];
    });
    await refused(() => loadResNet({ source: { safetensors: bytes } }), ModelFormatError, /overlap/);
  });
  it('an unknown dtype', async () => {
    const bytes = safetensorsWith((h) => {
      h['conv1.weight']!.dtype = 'F12';
    });
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      'conv1.weight: unknown dtype "F12"',
    );
  });
  it('a shape whose element count overflows', async () => {
    const bytes = safetensorsWith((h) => {
      h['fc.bias']!.shape = [2 ** 30, 2 ** 30, 2 ** 30];
    });
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      /fc\.bias: shape \[1073741824,1073741824,1073741824\] has more elements than can be addressed/,
    );
  });
});

describe('ONNX, depth, options, URLs', () => {
  it('an ONNX model with an unsupported operator', async () => {
    const onnx = appendNode(graphToOnnx(r18.graph, { softmax: false }), 'Tanh');
    await refused(
      () => loadResNet({ source: { onnx } }),
      ModelFormatError,
      'node extra (Tanh): operator Tanh is not supported',
    );
  });
  it('ResNet-50 weights loaded as ResNet-18', async () => {
    await refused(
      () => loadResNet({ depth: 18 }),
      ModelFormatError,
      'these weights are a ResNet-50 (50 weight layers deep), not the ResNet-18 asked for',
    );
  });
  it('an unknown precision', async () => {
    await refused(
      () => loadResNet({ precision: 'f8' as 'f16' }),
      InputError,
      `precision must be 'f32', 'f16' or 'int8', got "f8"`,
    );
  });
  it('a URL that returns 404, and one cut short (size checked)', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/short/')) {
        res.writeHead(200, { 'content-length': '100000' });
        res.end('{"modelTopology":');
        return;
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      await refused(
        () => loadResNet({ source: `${base}/missing/model.json` }),
        ModelFormatError,
        `${base}/missing/model.json: HTTP 404`,
      );
      await refused(
        () => loadResNet({ source: `${base}/short/model.json` }),
        ModelFormatError,
        `${base}/short/model.json`,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
