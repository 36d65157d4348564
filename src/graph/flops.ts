import type { Trace } from './executor.js';
import { opOf } from './ops/index.js';

/** FLOPs per image of each node (its op record's count), from the shapes a forward pass saw; 0 for nodes it skipped. */
export function nodeFlops(trace: Trace): number[] {
  return trace.graph.nodes.map((node) => {
    const out = trace.shapes.get(node.output);
    const inputs = node.inputs.map((v) => trace.shapes.get(v));
    if (!out || inputs.some((s) => !s)) return 0;
    return opOf(node).flops(node, inputs as (readonly number[])[], out);
  });
}

/** FLOPs per image up to and including the node that produces each named layer, and the total. */
export function cumulativeFlops(trace: Trace, layers: string[]): { upTo: Map<string, number>; total: number } {
  const flops = nodeFlops(trace);
  const prefix: number[] = [];
  flops.reduce((acc, f, i) => (prefix[i] = acc + f), 0);
  const upTo = new Map<string, number>();
  for (const l of layers) upTo.set(l, prefix[trace.graph.producerIndex(trace.graph.names.get(l)!)]);
  return { upTo, total: prefix[prefix.length - 1] };
}
