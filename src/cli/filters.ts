import { acquireEngine } from '../gpu/acquire.js';
import { filterGrid, firstConvLayer } from '../features/filters.js';
import { writePng } from '../image/encode-node.js';
import { titled } from '../report/labelled-sheet.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, FORCE, LAYER, outDir, WEIGHTS } from './common-options.js';
import { loadModelFile } from './load-model.js';

export const FILTERS = defineCommand({
  name: 'filters',
  summary: "draw a conv layer's filters as a PNG grid (first layer as RGB tiles)",
  usage: '--weights FILE [--layer NAME] [options]',
  description: `Draws convolution filters as one PNG grid, read back from the weights on the GPU. Without --layer:
every filter of the first convolution as an RGB tile, each min-max scaled on its own. With --layer:
that convolution's filters as grey tiles, one row per filter and one tile per input channel (each
filter min-max scaled over all its channels, so its channels compare).`,
  options: {
    weights: { ...WEIGHTS, help: 'model weights (.safetensors)' },
    'allow-non-finite': ALLOW_NON_FINITE,
    layer: {
      ...LAYER,
      help: 'a convolution (PyTorch module name, e.g. layer1.0.conv1, features.2);\ndefault: the first convolution (conv1, features.0)',
    },
    grey: { type: 'flag', help: 'grey tiles per input channel even for a first layer that reads RGB' },
    'max-filters': { type: 'int', arg: 'N', min: 1, max: 4096, default: 64, help: 'filters (rows) drawn' },
    'max-channels': { type: 'int', arg: 'N', min: 1, max: 4096, default: 32, help: 'input channels (tiles per row) drawn in grey grids' },
    scale: { type: 'int', arg: 'N', min: 1, max: 64, help: 'integer upscale of every tile (default: tiles of about 24 pixels)' },
    out: outDir('filters', 'output folder; writes filters.LAYER.png'),
    force: FORCE,
  },
  async run(values, out) {
    if (values.layer) out.expect([`filters.${values.layer}.png`]);
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      const layer = values.layer ?? firstConvLayer(model);
      const name = `filters.${layer}.png`;
      out.expect([name]);
      const grid = await filterGrid(model, layer, {
        maxFilters: values['max-filters'],
        maxChannels: values['max-channels'],
        scale: values.scale,
        mode: values.grey ? 'grey' : undefined,
      });
      const [o, c, kh, kw] = grid.shape;
      const what =
        grid.mode === 'rgb'
          ? `${layer}: ${grid.filters} of ${o} filters ${kh}x${kw} as RGB tiles, each scaled to its own range`
          : `${layer}: ${grid.filters} of ${o} filters (rows) x ${grid.channels} of ${c} input channels, ${kh}x${kw}, each scaled to its own range`;
      const picture = titled(grid.image, what);
      await writePng(out.path(name), picture);
      const cut =
        grid.filters < o || (grid.mode === 'grey' && grid.channels < c)
          ? ` (showing ${grid.filters} filters${grid.mode === 'grey' ? ` x ${grid.channels} channels` : ''}; raise --max-filters/--max-channels for more)`
          : '';
      console.log(
        `${layer}: ${o} filters of ${c}x${kh}x${kw}, drawn as ${grid.mode === 'rgb' ? 'RGB tiles' : 'grey tiles per input channel'}${cut}`,
      );
      console.log(`wrote ${out.final(name)} (${picture.width}x${picture.height})`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const FILTERS_HELP = FILTERS.help;
export const filtersCommand = (argv: string[]): Promise<void> => FILTERS.invoke(argv);
