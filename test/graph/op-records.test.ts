// Every graph op is one record (src/graph/ops/): this checks each record is complete, and that every
// architecture builds from ops that have one. Pure CPU: shape-only graphs, no GPU.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KNOWN_ARCHITECTURES, shapeOnlyGraph } from '../../src/graph/architectures/registry.js';
import { GraphBuilder, SHAPE_ONLY } from '../../src/graph/builder.js';
import { INPUT, type GraphNode } from '../../src/graph/graph.js';
import { OPS, opOf } from '../../src/graph/ops/index.js';
import { RELU_RULES } from '../../src/kernels/relu.js';

/** One node of every op kind, with plausible shapes: (N, C, H, W) = (1, 8, 12, 12) unless the op changes it. */
function everyOp(): { nodes: GraphNode[]; inShapes: number[][][]; outShapes: number[][] } {
  const b = new GraphBuilder(SHAPE_ONLY);
  const map = [1, 8, 12, 12];
  const c = b.conv('conv', INPUT, 8, 8, 3, { padding: 1, groups: 2, bias: true });
  const bn = b.batchNorm('bn', c, 8);
  const acts = (['relu', 'relu6', 'hardswish', 'hardsigmoid', 'silu', 'sigmoid', 'identity'] as const).map((op) => b.unary(op, op, bn));
  const mp = b.maxPool('maxpool', bn, { kernel: 3, stride: 2, padding: 1 });
  b.avgPool('avgpool', bn, { kernel: 2, stride: 2 });
  const gap = b.adaptiveAvgPool('gap', bn, [1, 1]);
  b.add('add', acts[0], acts[1]);
  b.channelScale('se', bn, gap);
  b.concat('cat', [bn, acts[2]]);
  b.shortcutA('shortcut', bn, 16);
  const flat = b.flatten('flatten', mp);
  b.linear('fc', flat, 8 * 6 * 6, 10);
  const shapes: Record<string, [number[][], number[]]> = {
    maxpool: [[map], [1, 8, 6, 6]],
    avgpool: [[map], [1, 8, 6, 6]],
    gap: [[map], [1, 8, 1, 1]],
    se: [[map, [1, 8, 1, 1]], map],
    add: [[map, map], map],
    cat: [
      [map, map],
      [1, 16, 12, 12],
    ],
    shortcut: [[map], [1, 16, 6, 6]],
    flatten: [[[1, 8, 6, 6]], [1, 288]],
    fc: [[[1, 288]], [1, 10]],
  };
  const nodes = b.graph.nodes;
  return {
    nodes,
    inShapes: nodes.map((n) => shapes[n.name]?.[0] ?? [map]),
    outShapes: nodes.map((n) => shapes[n.name]?.[1] ?? map),
  };
}

describe('op records', () => {
  const { nodes, inShapes, outShapes } = everyOp();

  it('the sample graph holds every op kind', () => {
    expect(new Set(nodes.map((n) => n.op))).toEqual(new Set(Object.keys(OPS)));
  });

  for (const [name, record] of Object.entries(OPS)) {
    it(`${name}: forward, backward, saves, rules, FLOPs and a receptive-field window`, () => {
      expect(record.doc.length, 'doc').toBeGreaterThan(10);
      expect(typeof record.forward).toBe('function');
      expect(typeof record.backward).toBe('function');
      expect(typeof record.tensors).toBe('function');
      expect(record.saves).toBeTypeOf('object');
      for (const rule of RELU_RULES) expect(record.rules[rule], `${name} documents the ${rule} rule`).toMatch(/\S/);
      // Plain-gradient ops take the same gradient under every rule; ReLU-family ones differ per rule.
      const distinct = new Set(RELU_RULES.map((r) => record.rules[r])).size;
      expect(distinct, `${name} (${record.ruleBehaviour}): distinct rule formulas`).toBe(record.ruleBehaviour === 'relu-family' ? 3 : 1);

      const i = nodes.findIndex((n) => n.op === name);
      const node = nodes[i];
      const flops = opOf(node).flops(node, inShapes[i], outShapes[i]);
      expect(Number.isFinite(flops) && flops > 0, `${name} FLOPs ${flops}`).toBe(true);
      const field = opOf(node).field(
        node,
        inShapes[i].map((s) => (s.length === 4 ? [s[2], s[3]] : [1, 1])),
      );
      expect(['window', 'same', 'widest', 'vector']).toContain(field.kind);
      if (field.kind === 'window') {
        const w = field.window;
        for (const v of [...w.k, ...w.s, ...w.out]) expect(v, `${name} window ${JSON.stringify(w)}`).toBeGreaterThan(0);
        const out = outShapes[i];
        expect(w.out, `${name} window output size`).toEqual([out[2], out[3]]);
      }
    });
  }

  it('conv FLOPs count 2 per multiply-add, per image, with groups', () => {
    const i = nodes.findIndex((n) => n.op === 'conv');
    // 8 output channels x 12 x 12 positions x (8 / 2 input channels x 3 x 3) taps x 2
    expect(opOf(nodes[i]).flops(nodes[i], inShapes[i], outShapes[i])).toBe(2 * 8 * 144 * 4 * 9);
  });

  it('docs/design.md lists every op with the backward formulas of its record', () => {
    const design = readFileSync(fileURLToPath(new URL('../../docs/design.md', import.meta.url)), 'utf8');
    for (const [name, record] of Object.entries(OPS)) {
      const row = design.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      expect(row, `docs/design.md has a row for ${name}`).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      // | op | PyTorch | rules | standard | guided | deconvnet |
      expect(cells[3], `${name} rules`).toBe(record.ruleBehaviour === 'relu-family' ? 'ReLU family' : 'plain');
      expect(cells[4], `${name} standard`).toBe(record.rules.standard);
      for (const [k, rule] of [
        [5, 'guided'],
        [6, 'deconvnet'],
      ] as const) {
        expect(cells[k], `${name} ${rule}`).toBe(record.ruleBehaviour === 'relu-family' ? record.rules[rule] : 'same');
      }
    }
  });

  it('ReLU and ReLU6 are the ReLU-family units; every other op takes the plain gradient', () => {
    const family = Object.entries(OPS)
      .filter(([, r]) => r.ruleBehaviour === 'relu-family')
      .map(([n]) => n);
    expect(family.sort()).toEqual(['relu', 'relu6']);
  });

  for (const arch of KNOWN_ARCHITECTURES.filter((a) => a !== 'plain_cnn')) {
    it(`${arch} builds shape-only from ops that all have records`, () => {
      const graph = shapeOnlyGraph(arch, 10);
      expect(graph.nodes.length).toBeGreaterThan(5);
      for (const n of graph.nodes) expect(OPS[n.op], `${arch} ${n.name}: op ${n.op}`).toBeDefined();
      expect(graph.parameters(), 'a shape-only graph holds no GPU tensors').toEqual([]);
    });
  }
});
