import type { Trace } from './executor.js';
import type { GraphNode } from './graph.js';

/**
 * Multiply-adds counted as 2 FLOPs per image for each node, from the shapes a forward pass saw.
 * Convolutions and linear layers dominate; element-wise nodes count one FLOP per output element.
 */
export function nodeFlops(trace: Trace): number[] {
  return trace.graph.nodes.map((node) => {
    const out = trace.shapes.get(node.output);
    const inp = trace.shapes.get(node.inputs[0]);
    if (!out || !inp) return 0;
    const perImage = (s: readonly number[]) => s.slice(1).reduce((a, b) => a * b, 1);
    return flopsOf(node, inp, out, perImage(out));
  });
}

function flopsOf(node: GraphNode, inp: readonly number[], out: readonly number[], outElems: number): number {
  switch (node.op) {
    case 'conv': {
      const [, cinPerGroup, kh, kw] = node.weight.shape;
      return 2 * outElems * cinPerGroup * kh * kw;
    }
    case 'linear':
      return 2 * node.weight.rows * node.weight.cols;
    case 'maxpool':
    case 'avgpool': {
      const k = typeof node.opts.kernel === 'number' ? node.opts.kernel ** 2 : node.opts.kernel[0] * node.opts.kernel[1];
      return outElems * k;
    }
    case 'adaptiveavgpool':
      return inp.slice(1).reduce((a, b) => a * b, 1);
    default:
      return outElems;
  }
}

/** FLOPs per image up to and including the node that produces each named layer, and the total. */
export function cumulativeFlops(trace: Trace, layers: string[]): { upTo: Map<string, number>; total: number } {
  const flops = nodeFlops(trace);
  const prefix: number[] = [];
  flops.reduce((acc, f, i) => (prefix[i] = acc + f), 0);
  const upTo = new Map<string, number>();
  for (const l of layers) {
    const v = trace.graph.names.get(l)!;
    const i = trace.graph.nodes.findIndex((n) => n.output === v);
    upTo.set(l, prefix[i]);
  }
  return { upTo, total: prefix[prefix.length - 1] };
}
