import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

// tools/export_weights.py runs with Debian's python3-torch (installed by `tools/setup.sh --torch`,
// which .ci/run does). Its output must load in the engine with no further step.
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'layertracer-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const engine = await testEngine();

function exportWeights(...args: string[]) {
  return spawnSync(PYTHON, ['tools/export_weights.py', ...args], { encoding: 'utf8', timeout: 120_000 });
}

describe('tools/export_weights.py', () => {
  it('converts the original ResNet-20 checkpoint to exactly the shared weights, and the engine loads it', async () => {
    const out = join(dir, 'resnet20.safetensors');
    const r = exportWeights(cifarFile('resnet20-12fca82f.th'), '--arch', 'cifar_resnet20', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const [exported, shared] = [await readSafetensorsFile(out), await readSafetensorsFile(cifarFile('resnet20.safetensors'))];
    expect(exported.names().sort()).toEqual(shared.names().sort());
    for (const n of shared.names())
      expect(
        Buffer.from(exported.getF32(n).buffer, exported.getF32(n).byteOffset, exported.info(n).byteLength).equals(
          Buffer.from(shared.getF32(n).buffer, shared.getF32(n).byteOffset, shared.info(n).byteLength),
        ),
        n,
      ).toBe(true);
    expect(JSON.parse(exported.metadata.classes)).toHaveLength(10);
    const model = modelFromFile(engine, exported);
    expect(model.info.architecture).toBe('cifar_resnet20');
    model.release();
  });

  it('refuses to overwrite without --force, and refuses a checkpoint that is not a state_dict', () => {
    const out = join(dir, 'again.safetensors');
    expect(exportWeights(cifarFile('resnet20-12fca82f.th'), '--arch', 'cifar_resnet20', '--out', out).status).toBe(0);
    const again = exportWeights(cifarFile('resnet20-12fca82f.th'), '--arch', 'cifar_resnet20', '--out', out);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/--force/);
    const notDict = join(dir, 'tensor.pt');
    execFileSync(PYTHON, ['-c', `import torch; torch.save(torch.zeros(3), ${JSON.stringify(notDict)})`]);
    const bad = exportWeights(notDict, '--arch', 'cifar_resnet20', '--out', join(dir, 'bad.safetensors'));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/state_dict/);
  });

  it("infers a newer torchvision family from a checkpoint's keys, and the engine loads it under PyTorch's layer names", async () => {
    const ckpt = join(dir, 'mnv3.pth');
    // A DataParallel-style checkpoint: `module.` prefixes, wrapped in {'state_dict': ...}.
    execFileSync(PYTHON, [
      '-c',
      'import torch, torchvision; m = torchvision.models.mobilenet_v3_small(num_classes=7); ' +
        `torch.save({'state_dict': {'module.' + k: v for k, v in m.state_dict().items()}}, ${JSON.stringify(ckpt)})`,
    ]);
    const out = join(dir, 'mnv3.safetensors');
    const r = exportWeights(ckpt, '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/inferred architecture: mobilenet_v3_small/);
    const model = modelFromFile(engine, await readSafetensorsFile(out));
    expect(model.info.architecture).toBe('mobilenet_v3_small');
    expect(model.numClasses).toBe(7);
    expect(model.unusedWeights).toEqual([]);
    expect(model.layerNames()).toContain('features.4.block.2.scale_activation');
    const x = engine.zeros([1, 3, 64, 64]);
    expect((await model.logits(x)).every(Number.isFinite)).toBe(true);
    engine.release(x);
    model.release();
  });
});
