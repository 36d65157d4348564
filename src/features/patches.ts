/**
 * Maximally activating patches (docs/design.md §2.15): for chosen channels of a layer, the K images whose strongest
 * activation in that channel is highest, each cropped to the receptive field of the unit where it peaks.
 */
import type { Model } from '../graph/model.js';
import { tileGrid } from '../image/grid.js';
import { blit, createRgbImage, upscaleNearest, type Rgb, type RgbImage } from '../image/image.js';
import { labelledSheet, titled } from '../report/labelled-sheet.js';
import { FeatureInputError } from './errors.js';
import type { ImageSource } from './image-source.js';
import { receptiveField, receptiveFieldBox, type Box, type ReceptiveField } from './receptive-field.js';
import { scanSource, type ScanOptions } from './scan.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link maxActivatingPatches}: the layer, its channels, and how many images to keep per channel. */
export interface PatchOptions extends Omit<ScanOptions, 'indices'> {
  layer: string;
  channels: readonly number[];
  /** Images kept per channel; default 9. */
  top?: number;
}

/** One of a channel's strongest images: where its maximum is and which input pixels that unit sees. */
export interface TopActivation {
  /** Index into the source. */
  image: number;
  /** The channel's maximum over positions in that image. */
  value: number;
  /** Unit (row, column) of the maximum (first one in row-major order on ties). */
  unit: [number, number];
  /** Its receptive field in input pixels, clipped to the image. */
  box: Box;
}

/** The strongest images of one channel. */
export interface ChannelPatches {
  channel: number;
  /** Strongest first. */
  top: TopActivation[];
}

/** The result of {@link maxActivatingPatches}: the strongest images of each channel over a source, with the layer's receptive field. */
export interface PatchScan {
  layer: string;
  receptiveField: ReceptiveField;
  /** Channels of the layer. */
  layerChannels: number;
  images: number;
  channels: ChannelPatches[];
}

/** Inserts into a list kept sorted by descending value, at most `k` long; earlier images win ties. */
function offer(list: TopActivation[], item: TopActivation, k: number): void {
  if (list.length === k && item.value <= list[k - 1].value) return;
  let i = list.length;
  while (i > 0 && list[i - 1].value < item.value) i--;
  list.splice(i, 0, item);
  if (list.length > k) list.pop();
}

/**
 * The images of a source that activate each chosen channel of a layer most (by the channel's spatial maximum), with the receptive
 * field of the strongest unit, for {@link renderPatches}.
 */
export const maxActivatingPatches = scoped(async function maxActivatingPatches(
  model: Model,
  source: ImageSource,
  opts: PatchOptions,
): Promise<PatchScan> {
  const { layer, channels } = opts;
  const k = opts.top ?? 9;
  if (!Number.isInteger(k) || k < 1) throw new FeatureInputError(`top must be a positive integer, got ${k}`);
  if (!channels.length) throw new FeatureInputError('no channels given');
  model.assertLayer(layer);
  const rf = receptiveField(model, layer, [source.height, source.width]);
  if (rf.global)
    throw new FeatureInputError(
      `layer "${layer}" is a vector (after global pooling or flatten); patches need a convolutional map; try ${model.defaultCamLayer}`,
    );
  const lists = channels.map(() => [] as TopActivation[]);
  let layerChannels = -1;
  await scanSource(
    model,
    source,
    [layer],
    async (trace, indices) => {
      const A = trace.activation(layer);
      if (A.rank !== 4) throw new FeatureInputError(`layer "${layer}" has shape [${A.shape.join(', ')}]; patches need (N, C, H, W)`);
      const [, C, H, W] = A.shape;
      if (layerChannels < 0) {
        layerChannels = C;
        const bad = channels.find((c) => !Number.isInteger(c) || c < 0 || c >= C);
        if (bad !== undefined)
          throw new FeatureInputError(`channel ${bad} is out of range: layer "${layer}" has ${C} channels (0..${C - 1})`);
        if (H !== rf.outputSize[0] || W !== rf.outputSize[1]) {
          throw new FeatureInputError(
            `internal: receptive-field arithmetic predicts a ${rf.outputSize.join('x')} map at "${layer}", the engine made ${H}x${W}`,
          );
        }
      }
      const a = await A.readF32();
      const plane = H * W;
      indices.forEach((image, n) => {
        channels.forEach((c, ci) => {
          const base = (n * C + c) * plane;
          let best = 0;
          for (let p = 1; p < plane; p++) if (a[base + p] > a[base + best]) best = p;
          const unit: [number, number] = [Math.floor(best / W), best % W];
          offer(lists[ci], { image, value: a[base + best], unit, box: receptiveFieldBox(rf, unit[0], unit[1]) }, k);
        });
      });
    },
    opts,
  );
  return {
    layer,
    receptiveField: rf,
    layerChannels,
    images: source.count,
    channels: channels.map((channel, i) => ({ channel, top: lists[i] })),
  };
});

/** Pixels of `img` inside `box`. */
export function cropBox(img: RgbImage, box: Box): RgbImage {
  const out = createRgbImage(box.x1 - box.x0, box.y1 - box.y0);
  blit(out, img, -box.x0, -box.y0);
  return out;
}

/** How {@link renderPatches} lays out the patch tiles. */
export interface PatchGridOptions {
  /** Integer upscale of each tile; default: tiles of at least ~64 pixels. */
  scale?: number;
  /** Tiles per row of a channel's grid; default a roughly square sheet. */
  columns?: number;
  padding?: number;
  background?: Rgb;
  /**
   * 'field' (default): every tile is the whole receptive field with the argmax unit's centre in the middle;
   * the part outside the image is filled with `outside`. 'crop': the clipped crop alone.
   * Fields more than twice the image size are always drawn as crops.
   */
  mode?: 'field' | 'crop';
  outside?: Rgb;
}

/** The pictures {@link renderPatches} draws from a {@link PatchScan}. */
export interface PatchPictures {
  /** One grid per channel, in `scan.channels` order. */
  perChannel: RgbImage[];
  /** Every channel as one row of its top-K tiles, channels top to bottom. */
  sheet: RgbImage;
}

/** The crop placed where it lies within the unit's unclipped field. */
function fieldTile(crop: RgbImage, rf: ReceptiveField, t: TopActivation, outside: Rgb): RgbImage {
  const full = receptiveFieldBox(rf, t.unit[0], t.unit[1], false);
  const tile = createRgbImage(full.x1 - full.x0, full.y1 - full.y0, outside);
  blit(tile, crop, t.box.x0 - full.x0, t.box.y0 - full.y0);
  return tile;
}

/** Crops every kept activation's field out of the picture the model saw and lays them out. */
export async function renderPatches(source: ImageSource, scan: PatchScan, opts: PatchGridOptions = {}): Promise<PatchPictures> {
  const cache = new Map<number, RgbImage>();
  const picture = async (i: number) => {
    let p = cache.get(i);
    if (!p) cache.set(i, (p = await source.picture(i)));
    return p;
  };
  const rf = scan.receptiveField;
  const field = (opts.mode ?? 'field') === 'field' && rf.size[0] <= 2 * source.height && rf.size[1] <= 2 * source.width;
  const side = field ? Math.max(...rf.size) : Math.min(Math.max(...rf.size), Math.max(source.height, source.width));
  const scale = opts.scale ?? Math.max(1, Math.ceil(64 / side));
  const padding = opts.padding ?? 2;
  const background = opts.background ?? [255, 255, 255];
  const outside = opts.outside ?? [225, 225, 225];
  const tiles: RgbImage[][] = [];
  for (const ch of scan.channels) {
    const row: RgbImage[] = [];
    for (const t of ch.top) {
      const crop = cropBox(await picture(t.image), t.box);
      row.push(field ? fieldTile(crop, rf, t, outside) : crop);
    }
    tiles.push(row);
  }
  const what = `${scan.layer}, top ${Math.max(...tiles.map((r) => r.length))} of ${scan.images} images`;
  const fieldNote = `receptive field ${rf.size.join('x')} px${field ? ', light grey = outside the image' : ''}`;
  const perChannel = tiles.map((row, i) =>
    titled(tileGrid(row, { columns: opts.columns, scale, padding, background }), `${scan.layer} channel ${scan.channels[i].channel}`),
  );
  // Every row a channel, labelled; empty cells stay blank when a channel kept fewer images.
  const sheet = labelledSheet(
    tiles.map((row, i) => ({
      label: `channel ${scan.channels[i].channel}`,
      tiles: row.length ? row.map((t) => upscaleNearest(t, scale)) : [createRgbImage(1, 1, background)],
    })),
    { padding, title: `${what}; ${fieldNote}` },
  );
  return { perChannel, sheet };
}
