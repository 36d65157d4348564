import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import { maxActivatingPatches, renderPatches } from '../features/patches.js';
import { openImageSource } from '../features/source-node.js';
import { writePng } from '../image/encode-node.js';
import { UsageError } from './errors.js';
import { positiveInt } from './filters.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const PATCHES_HELP = `layertracer patches --weights FILE --data FILE|DIR --layer NAME --channels LIST [options]

Maximally activating patches: scans the images in batches on the GPU and keeps, for each chosen
channel of the layer, the top-K images by their strongest activation in that channel; each is cropped
to the receptive field of the unit where it peaks (clipped to the image). Writes one grid per channel
and one sheet with a row per channel.

  --weights FILE      model weights (.safetensors)
  --data FILE|DIR     a dataset .safetensors (images U8 [N,H,W,3] + labels, e.g. test1000.safetensors)
                      or a folder of PNG/JPEG images (resized and cropped as the model expects)
  --layer NAME        a convolutional layer (PyTorch module name, e.g. layer2.0, features.29)
  --channels LIST     channel indices: 0,5,7 or ranges 0-7
  --top K             images kept per channel (default 9)
  --limit N           scan only the first N images
  --batch N           images per forward pass (default 50)
  --scale N           integer upscale of each tile (default: tiles of about 64 pixels)
  --crop              draw the clipped crops alone; by default every tile is the unit's whole field,
                      centred on it, with the part outside the image in light grey
  --out DIR           output folder (default out/patches); writes patches.LAYER.png and
                      patches.LAYER.cCHANNEL.png
  --force             overwrite existing output files (never done otherwise)
  -h, --help          this text
`;

/** "0,5,7" or "0-3,8" -> [0, 5, 7] / [0, 1, 2, 3, 8]; duplicates dropped, order kept. */
export function parseIndexList(text: string, option: string): number[] {
  const out: number[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`${option}: "${part}" is not an index or a range like 0-7 (expected e.g. 0,5,7)`);
    const [a, b] = [Number(m[1]), m[2] === undefined ? Number(m[1]) : Number(m[2])];
    if (b < a) throw new UsageError(`${option}: range ${part} is empty`);
    if (b - a > 100000) throw new UsageError(`${option}: range ${part} is too long`);
    for (let i = a; i <= b; i++) if (!out.includes(i)) out.push(i);
  }
  if (!out.length) throw new UsageError(`${option} is empty`);
  return out;
}

export async function patchesCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      data: { type: 'string' },
      layer: { type: 'string' },
      channels: { type: 'string' },
      top: { type: 'string' },
      limit: { type: 'string' },
      batch: { type: 'string' },
      scale: { type: 'string' },
      crop: { type: 'boolean', default: false },
      out: { type: 'string', default: join('out', 'patches') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(PATCHES_HELP);
  if (!values.weights) throw new UsageError('patches needs --weights FILE (see --help)');
  if (!values.data) throw new UsageError('patches needs --data FILE|DIR: a dataset .safetensors or a folder of images (see --help)');
  if (!values.layer) throw new UsageError('patches needs --layer NAME, e.g. layer2.0 or features.29 (see --help)');
  if (!values.channels) throw new UsageError('patches needs --channels LIST, e.g. 0,5,7 (see --help)');
  const channels = parseIndexList(values.channels, '--channels');
  const top = positiveInt(values.top, '--top', 9)!;
  const limit = positiveInt(values.limit, '--limit');
  const batchSize = positiveInt(values.batch, '--batch', 50);
  const scale = positiveInt(values.scale, '--scale');
  const layer = values.layer;
  const sheetPath = join(values.out!, `patches.${layer}.png`);
  const channelPaths = channels.map((c) => join(values.out!, `patches.${layer}.c${c}.png`));
  if (!values.force) {
    const clash = [sheetPath, ...channelPaths].filter((p) => existsSync(p));
    if (clash.length)
      throw new UsageError(
        `output files already exist (${clash.slice(0, 3).join(', ')}${clash.length > 3 ? ', ...' : ''}); pass --force to overwrite or choose another --out`,
      );
  }

  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    model.assertLayer(layer);
    const source = await openImageSource(values.data, model.info, limit);
    const progress = new Progress('patches', source.count);
    const t0 = Date.now();
    const scan = await maxActivatingPatches(model, source, {
      layer,
      channels,
      top,
      batchSize,
      onProgress: (done) => progress.update(done),
    });
    progress.done();
    const rf = scan.receptiveField;
    console.log(
      `${layer}: ${scan.layerChannels} channels, ${rf.outputSize.join('x')} units; receptive field ${rf.size.join('x')} px, jump ${rf.jump.join('x')}, ` +
        `offset ${rf.offset.join(',')}; scanned ${source.count} images in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const pictures = await renderPatches(source, scan, { scale, mode: values.crop ? 'crop' : 'field' });
    for (const [i, ch] of scan.channels.entries()) {
      await writePng(channelPaths[i], pictures.perChannel[i], { force: values.force });
      const best = ch.top
        .slice(0, 5)
        .map(
          (t) =>
            `${source.name(t.image)}${source.label(t.image) >= 0 ? ` (${source.classes[source.label(t.image)] ?? source.label(t.image)})` : ''} ${t.value.toFixed(3)}`,
        );
      const dead = ch.top.length > 0 && ch.top[0].value <= 0 ? ' (never positive on these images: a dead channel)' : '';
      console.log(`  channel ${ch.channel}: ${best.join(', ')}${ch.top.length > 5 ? ', ...' : ''}${dead}`);
    }
    await writePng(sheetPath, pictures.sheet, { force: values.force });
    console.log(`wrote ${sheetPath} and ${channelPaths.length} per-channel grids`);
    model.release();
  } finally {
    engine.destroy();
  }
}
