import { describe, expect, it } from 'vitest';
import { modelFromFile } from '../../src/graph/model.js';
import { parseSafetensors, writeSafetensors, type TensorSpec } from '../../src/io/safetensors.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

const engine = await testEngine();
const resnet20 = await readSafetensorsFile(cifarFile('resnet20.safetensors'));

/** resnet20's tensors with an edit applied, as an in-memory file named `broken.safetensors`. */
function edited(edit: (t: Record<string, TensorSpec>) => void, metadata = resnet20.metadata) {
  const tensors: Record<string, TensorSpec> = {};
  for (const n of resnet20.names()) {
    const t = resnet20.get(n);
    tensors[n] = { dtype: t.dtype, shape: t.shape, data: t.data };
  }
  edit(tensors);
  return parseSafetensors(writeSafetensors(tensors, { ...metadata }), 'broken.safetensors');
}

describe('bad weights give errors that name the file, the tensor and the layer', () => {
  it('a missing tensor', () => {
    const f = edited((t) => delete t['layer2.1.conv2.weight']);
    expect(() => modelFromFile(engine, f)).toThrow(
      /broken\.safetensors: missing tensor "layer2\.1\.conv2\.weight" needed by layer layer2\.1\.conv2/,
    );
  });

  it('a tensor of the wrong shape for its layer', () => {
    const f = edited((t) => (t['layer1.0.bn1.weight'] = { dtype: 'F32', shape: [15], data: new Float32Array(15) }));
    expect(() => modelFromFile(engine, f)).toThrow(/"layer1\.0\.bn1\.weight" has shape \[15\] but layer layer1\.0\.bn1 expects \[16\]/);
  });

  it('weights of no known architecture', () => {
    const f = parseSafetensors(
      writeSafetensors({ 'encoder.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } }),
      'mystery.safetensors',
    );
    expect(() => modelFromFile(engine, f)).toThrow(/mystery\.safetensors: cannot tell the architecture.*Known: resnet18/);
  });

  it('an unknown layer name lists close valid names', async () => {
    const model = modelFromFile(engine, resnet20);
    expect(() => model.assertLayer('layer3.2.conv3')).toThrow(/unknown layer "layer3\.2\.conv3"\. Did you mean: .*layer3\.2\.conv\d/);
    const x = engine.zeros([1, 3, 32, 32]);
    expect(() => model.forward(x, { keep: ['layer5'] })).toThrow(/unknown layer "layer5"/);
    engine.release(x);
    model.release();
  });

  it('a gradient seed of the wrong shape', () => {
    const model = modelFromFile(engine, resnet20);
    const x = engine.zeros([2, 3, 32, 32]);
    const trace = model.forward(x);
    const seed = engine.zeros([1, 10]);
    expect(() => model.backward(trace, { grad: seed })).toThrow(/seed \[1, 10\] does not match the shape of "logits" \[2, 10\]/);
    engine.releaseAll(x, seed);
    trace.release();
    model.release();
  });
});
