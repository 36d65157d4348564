import { computeClassMeans } from '../e2cm/class-means.js';
import { classMeansToTensors } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import { hasClassNames } from '../graph/model-info.js';
import { openLabelledSet } from '../data/labelled-source.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { parseRange } from './data-range.js';
import { assertFiniteResult } from '../util/finite.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, RANGE, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const CLASS_MEANS = defineCommand({
  name: 'class-means',
  summary: 'E2CM class means at every exit from a labelled set',
  usage: '--weights FILE --data FILE|DIR --out FILE [options]',
  description: `Computes E2CM class means at every exit (after the stem and after every residual block / VGG stage)
from a labelled image set, with a per-exit temperature (the median distance of the training images to
their own class mean), and saves them as safetensors for early-exit and LayerTracer.`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    data: DATA,
    range: RANGE,
    mode: {
      type: 'enum',
      values: ['gap', 'full'],
      default: 'gap',
      help: 'feature per exit: global-average-pooled channels or the full C*H*W tensor',
    },
    exits: { type: 'string-list', arg: 'L1,L2', help: "exit layers (default: the model's standard exits)" },
    batch: batchOption(50),
    out: { type: 'out-file', required: true, help: 'output .safetensors' },
    force: { ...FORCE, help: 'overwrite --out' },
  },
  async run(values, out) {
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
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
        exits: values.exits,
        mode: values.mode,
        batchSize: values.batch,
        source: `${set.description} images ${range.start}..${range.start + range.count - 1}`,
        onProgress: (done, total, pass) => progress.update(pass === 'means' ? done : total + done, pass),
      });
      progress.done();
      for (const l of means.exits) assertFiniteResult(means.means.get(l)!, `the class means at ${l}`);
      assertFiniteResult([...means.temperatures.values()], 'the temperatures');
      const { tensors, metadata } = classMeansToTensors(means);
      await writeSafetensorsFile(out.file, tensors, metadata);
      console.log(`exits: ${means.exits.join(', ')}`);
      console.log(`temperatures: ${means.exits.map((l) => `${l}=${means.temperatures.get(l)!.toPrecision(4)}`).join(', ')}`);
      console.log(`wrote ${out.final()}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const CLASS_MEANS_HELP = CLASS_MEANS.help;
export const classMeansCommand = (argv: string[]): Promise<void> => CLASS_MEANS.invoke(argv);
