import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import { filterGrid, firstConvLayer } from '../features/filters.js';
import { writePng } from '../image/encode-node.js';
import { titled } from '../report/labelled-sheet.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';

export const FILTERS_HELP = `layertracer filters --weights FILE [--layer NAME] [options]

Draws convolution filters as one PNG grid, read back from the weights on the GPU. Without --layer:
every filter of the first convolution as an RGB tile, each min-max scaled on its own. With --layer:
that convolution's filters as grey tiles, one row per filter and one tile per input channel (each
filter min-max scaled over all its channels, so its channels compare).

  --weights FILE      model weights (.safetensors)
  --layer NAME        a convolution (PyTorch module name, e.g. layer1.0.conv1, features.2);
                      default: the first convolution (conv1, features.0)
  --grey              grey tiles per input channel even for a first layer that reads RGB
  --max-filters N     filters (rows) drawn, default 64
  --max-channels N    input channels (tiles per row) drawn in grey grids, default 32
  --scale N           integer upscale of every tile (default: tiles of about 24 pixels)
  --out DIR           output folder (default out/filters); writes filters.LAYER.png
  --force             overwrite existing output files (never done otherwise)
  -h, --help          this text
`;

/** A positive integer option, or a UsageError naming the option. */
export function positiveInt(value: string | undefined, option: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${option} must be a positive integer, got "${value}"`);
  return Number(value);
}

export async function filtersCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      layer: { type: 'string' },
      grey: { type: 'boolean', default: false },
      'max-filters': { type: 'string' },
      'max-channels': { type: 'string' },
      scale: { type: 'string' },
      out: { type: 'string', default: join('out', 'filters') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(FILTERS_HELP);
  if (!values.weights) throw new UsageError('filters needs --weights FILE (see --help)');
  const maxFilters = positiveInt(values['max-filters'], '--max-filters', 64);
  const maxChannels = positiveInt(values['max-channels'], '--max-channels', 32);
  const scale = positiveInt(values.scale, '--scale');

  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const layer = values.layer ?? firstConvLayer(model);
    // Reading a conv's weights is cheap: draw first, so a wrong layer is explained before any file check.
    const grid = await filterGrid(model, layer, { maxFilters, maxChannels, scale, mode: values.grey ? 'grey' : undefined });
    const path = join(values.out!, `filters.${layer}.png`);
    if (!values.force && existsSync(path))
      throw new UsageError(`output file ${path} already exists; pass --force to overwrite or choose another --out`);
    const [o, c, kh, kw] = grid.shape;
    const what =
      grid.mode === 'rgb'
        ? `${layer}: ${grid.filters} of ${o} filters ${kh}x${kw} as RGB tiles, each scaled to its own range`
        : `${layer}: ${grid.filters} of ${o} filters (rows) x ${grid.channels} of ${c} input channels, ${kh}x${kw}, each scaled to its own range`;
    const picture = titled(grid.image, what);
    await writePng(path, picture, { force: values.force });
    const cut =
      grid.filters < o || (grid.mode === 'grey' && grid.channels < c)
        ? ` (showing ${grid.filters} filters${grid.mode === 'grey' ? ` x ${grid.channels} channels` : ''}; raise --max-filters/--max-channels for more)`
        : '';
    console.log(
      `${layer}: ${o} filters of ${c}x${kh}x${kw}, drawn as ${grid.mode === 'rgb' ? 'RGB tiles' : 'grey tiles per input channel'}${cut}`,
    );
    console.log(`wrote ${path} (${picture.width}x${picture.height})`);
    model.release();
  } finally {
    engine.destroy();
  }
}
