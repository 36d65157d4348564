import { KernelInputError } from '../gpu/errors.js';
import type { Graph, ValueId } from './graph.js';

/** Layer name -> value, or an error that lists close valid names. */
export function resolveLayer(graph: Graph, name: string): ValueId {
  const v = graph.names.get(name);
  if (v !== undefined) return v;
  throw new KernelInputError(`unknown layer "${name}". ${suggestLayers(graph, name)}`);
}

export function suggestLayers(graph: Graph, name: string): string {
  const all = graph.layerNames();
  const prefix = name.split('.').slice(0, -1).join('.');
  const close = all
    .map((n) => ({ n, d: editDistance(n, name) - (prefix && n.startsWith(prefix) ? 2 : 0) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, 6)
    .map((x) => x.n);
  const blocks = all.filter((n) => !n.includes('#') && n.split('.').length <= 2);
  return `Did you mean: ${close.join(', ')}? Top-level layers: ${blocks.slice(0, 40).join(', ')}${blocks.length > 40 ? ', ...' : ''}`;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
