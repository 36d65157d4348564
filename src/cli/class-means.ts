import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { computeClassMeans } from '../e2cm/class-means.js';
import { classMeansToTensors } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import { hasClassNames } from '../graph/model-info.js';
import { openLabelledSet } from '../data/labelled-source.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const CLASS_MEANS_HELP = `layertracer class-means --weights FILE --data FILE|DIR --out FILE [options]

Computes E2CM class means at every exit (after the stem and after every residual block / VGG stage)
from a labelled image set, with a per-exit temperature (the median distance of the training images to
their own class mean), and saves them as safetensors for early-exit and LayerTracer.

  --weights FILE    model weights
  --data FILE|DIR   a safetensors file (images U8 [N,H,W,3], labels) or a folder with a sub-folder per class
  --range A:B       use images A..B-1 only (e.g. 0:500)
  --mode gap|full   feature per exit: global-average-pooled channels (default) or the full C*H*W tensor
  --exits L1,L2     exit layers (default: the model's standard exits)
  --batch N         images per forward pass (default 50)
  --out FILE        output .safetensors
  --force           overwrite --out
`;

export async function classMeansCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      data: { type: 'string' },
      range: { type: 'string' },
      mode: { type: 'string', default: 'gap' },
      exits: { type: 'string' },
      batch: { type: 'string', default: '50' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(CLASS_MEANS_HELP);
  if (!values.weights || !values.data || !values.out) throw new UsageError('class-means needs --weights, --data and --out (see --help)');
  if (values.mode !== 'gap' && values.mode !== 'full') throw new UsageError(`--mode must be gap or full, got "${values.mode}"`);
  if (existsSync(values.out) && !values.force) throw new UsageError(`${values.out} already exists; pass --force to overwrite`);
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    // Labels are class indices: a set that names its classes differently from the model's named
    // classes would put every image under the wrong mean. Unnamed models cannot be checked.
    if (set.classes.length && hasClassNames(model.info) && set.classes.join('\n') !== model.info.classes.join('\n')) {
      throw new UsageError(
        `${values.data} names its classes [${set.classes.join(', ')}] but the model's are [${model.info.classes.join(', ')}]; give images labelled for this model`,
      );
    }
    const progress = new Progress('class means', range.count * 2);
    const means = await computeClassMeans(model, set.batches(model.info, range), {
      exits: values.exits?.split(','),
      mode: values.mode,
      batchSize: Number(values.batch),
      source: `${set.description} images ${range.start}..${range.start + range.count - 1}`,
      onProgress: (done, total, pass) => progress.update(pass === 'means' ? done : total + done, pass),
    });
    progress.done();
    const { tensors, metadata } = classMeansToTensors(means);
    await writeSafetensorsFile(values.out, tensors, metadata, { force: values.force });
    console.log(`exits: ${means.exits.join(', ')}`);
    console.log(`temperatures: ${means.exits.map((l) => `${l}=${means.temperatures.get(l)!.toPrecision(4)}`).join(', ')}`);
    console.log(`wrote ${values.out}`);
    model.release();
  } finally {
    engine.destroy();
  }
}
