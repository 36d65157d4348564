/**
 * A conv followed by an inference batch-norm (y = conv(x) * scale[o] + shift[o]) is one conv with
 * w'[o] = w[o] * scale[o] and b'[o] = b[o] * scale[o] + shift[o]. Folding removes the batch-norm's pass
 * from the forward pass (the conv's bias does its work) and from backward to the input (dL/dx through
 * both is the transposed conv of w'), where ResNet-50 spent about 17 % of its GPU time on separate
 * batch-norm passes. Forward and backward differ from the unfolded pair by float rounding only.
 *
 * Folded copies are made on the GPU once per (weight, bias, scale, shift) and cached on the engine,
 * keyed on the tensors' storage, like the packed weights (conv2d-gemm.ts): an entry is freed when any of
 * its four tensors is released (at the next fold) or by `releaseFoldedConv2dWeights`. Like every conv
 * weight cache, it assumes parameters are not overwritten in place.
 */
import type { Engine } from '../gpu/engine.js';
import type { Storage, Tensor } from '../gpu/tensor.js';
import { channelAffineBackward, channelAffineForward } from './channel-affine.js';

/** The conv's batch-norm in inference form, one value per output channel. */
export interface ChannelAffine {
  scale: Tensor;
  shift: Tensor;
}

/** A conv's weight and bias with a batch-norm folded in. Owned by the cache: never release them. */
export interface FoldedConv2d {
  weight: Tensor;
  bias: Tensor;
}

interface Entry {
  /** weight, bias (null when the conv has none), scale, shift */
  sources: (Tensor | null)[];
  folded: FoldedConv2d;
}

const caches = new WeakMap<Engine, Map<Storage, Entry[]>>();

function cacheOf(e: Engine): Map<Storage, Entry[]> {
  let c = caches.get(e);
  if (!c) {
    c = new Map();
    caches.set(e, c);
  }
  return c;
}

/** The folded weight (O, C/groups, KH, KW) and bias (O) of conv `w`, `bias` followed by `affine`. */
export function foldedConv2d(e: Engine, w: Tensor, bias: Tensor | null, affine: ChannelAffine): FoldedConv2d {
  const cache = cacheOf(e);
  const sources = [w, bias, affine.scale, affine.shift];
  const hit = cache.get(w.storage)?.find((entry) => entry.sources.every((t, i) => t?.storage === sources[i]?.storage));
  if (hit) return hit.folded;
  sweep(e, cache);
  const folded = fold(e, w, bias, affine);
  cache.set(w.storage, [...(cache.get(w.storage) ?? []), { sources, folded }]);
  return folded;
}

function fold(e: Engine, w: Tensor, bias: Tensor | null, { scale, shift }: ChannelAffine): FoldedConv2d {
  const [O] = w.shape;
  // Both passes scale along dim 1 of an (N, C, ...) tensor: view the weight as (1, O, rest).
  const weight = channelAffineBackward(e, w.reshape([1, O, w.size / O]), scale).reshape(w.shape);
  const foldedBias = bias ? channelAffineForward(e, bias.reshape([1, O]), scale, shift).reshape([O]) : e.clone(shift, 'conv2d.folded_bias');
  // The cache outlives the call that fills it: out of every release scope.
  return { weight: e.persist(weight), bias: e.persist(foldedBias) };
}

function releaseEntry(e: Engine, entry: Entry): void {
  e.release(entry.folded.weight);
  e.release(entry.folded.bias);
}

/** Frees entries one of whose source tensors was released. */
function sweep(e: Engine, cache: Map<Storage, Entry[]>): void {
  for (const [storage, entries] of cache) {
    const live = entries.filter((entry) => {
      const stale = entry.sources.some((t) => t?.storage.released);
      if (stale) releaseEntry(e, entry);
      return !stale;
    });
    if (live.length) cache.set(storage, live);
    else cache.delete(storage);
  }
}

/** Frees the folded copies of one conv weight or, without `w`, of all of them. */
export function releaseFoldedConv2dWeights(e: Engine, w?: Tensor): void {
  const cache = cacheOf(e);
  for (const [storage, entries] of cache) {
    if (w && storage !== w.storage) continue;
    for (const entry of entries) releaseEntry(e, entry);
    cache.delete(storage);
  }
  sweep(e, cache);
}
