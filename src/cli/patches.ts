import { acquireEngine } from '../gpu/acquire.js';
import { maxActivatingPatches, renderPatches } from '../features/patches.js';
import { openImageSource } from '../features/source-node.js';
import { writePng } from '../image/encode-node.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, LAYER, LIMIT, outDir, WEIGHTS } from './common-options.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const PATCHES = defineCommand({
  name: 'patches',
  summary: 'maximally activating patches of chosen channels over a dataset',
  usage: '--weights FILE --data FILE|DIR --layer NAME --channels LIST [options]',
  description: `Maximally activating patches: scans the images in batches on the GPU and keeps, for each chosen
channel of the layer, the top-K images by their strongest activation in that channel; each is cropped
to the receptive field of the unit where it peaks (clipped to the image). Writes one grid per channel
and one sheet with a row per channel.`,
  options: {
    weights: { ...WEIGHTS, help: 'model weights (.safetensors)' },
    'allow-non-finite': ALLOW_NON_FINITE,
    data: {
      ...DATA,
      help: `a dataset .safetensors (images U8 [N,H,W,3] + labels, e.g. test1000.safetensors)
or a folder of PNG/JPEG images (resized and cropped as the model expects)`,
    },
    layer: { ...LAYER, required: true, help: 'a convolutional layer (PyTorch module name, e.g. layer2.0, features.29)' },
    channels: { type: 'index-list', arg: 'LIST', required: true, help: 'channel indices: 0,5,7 or ranges 0-7' },
    top: { type: 'int', arg: 'K', min: 1, max: 1000, default: 9, help: 'images kept per channel' },
    limit: { ...LIMIT, help: 'scan only the first N images' },
    batch: batchOption(50),
    scale: { type: 'int', arg: 'N', min: 1, max: 64, help: 'integer upscale of each tile (default: tiles of about 64 pixels)' },
    crop: {
      type: 'flag',
      help: `draw the clipped crops alone; by default every tile is the unit's whole field,
centred on it, with the part outside the image in light grey`,
    },
    out: outDir('patches', 'output folder; writes patches.LAYER.png and\npatches.LAYER.cCHANNEL.png'),
    force: FORCE,
  },
  async run(values, out) {
    const { layer, channels } = values;
    const sheetName = `patches.${layer}.png`;
    const channelNames = channels.map((c) => `patches.${layer}.c${c}.png`);
    out.expect([sheetName, ...channelNames]);
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      model.assertLayer(layer);
      const source = await openImageSource(values.data, model.info, values.limit);
      const progress = new Progress('patches', source.count);
      const t0 = Date.now();
      const scan = await maxActivatingPatches(model, source, {
        layer,
        channels,
        top: values.top,
        batchSize: values.batch,
        onProgress: (done) => progress.update(done),
      });
      progress.done();
      const rf = scan.receptiveField;
      console.log(
        `${layer}: ${scan.layerChannels} channels, ${rf.outputSize.join('x')} units; receptive field ${rf.size.join('x')} px, jump ${rf.jump.join('x')}, ` +
          `offset ${rf.offset.join(',')}; scanned ${source.count} images in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      const pictures = await renderPatches(source, scan, { scale: values.scale, mode: values.crop ? 'crop' : 'field' });
      for (const [i, ch] of scan.channels.entries()) {
        await writePng(out.path(channelNames[i]), pictures.perChannel[i]);
        const best = ch.top
          .slice(0, 5)
          .map(
            (t) =>
              `${source.name(t.image)}${source.label(t.image) >= 0 ? ` (${source.classes[source.label(t.image)] ?? source.label(t.image)})` : ''} ${t.value.toFixed(3)}`,
          );
        const dead = ch.top.length > 0 && ch.top[0].value <= 0 ? ' (never positive on these images: a dead channel)' : '';
        console.log(`  channel ${ch.channel}: ${best.join(', ')}${ch.top.length > 5 ? ', ...' : ''}${dead}`);
      }
      await writePng(out.path(sheetName), pictures.sheet);
      console.log(`wrote ${out.final(sheetName)} and ${channelNames.length} per-channel grids`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const PATCHES_HELP = PATCHES.help;
export const patchesCommand = (argv: string[]): Promise<void> => PATCHES.invoke(argv);

export { parseIndexList } from './options.js';
