import { writeFile } from 'node:fs/promises';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine, ProfileResult } from '../gpu/engine.js';
import { chromeTrace, profileMarkdown, summariseProfile } from '../gpu/profile-report.js';
import type { Tensor } from '../gpu/tensor.js';
import { KNOWN_ARCHITECTURES } from '../graph/architectures/registry.js';
import { seededModel, type Model } from '../graph/model.js';
import { assertImagesFit } from '../graph/pass-size.js';
import { readImageFile } from '../image/decode-node.js';
import { preprocessForModel } from '../image/preprocess.js';
import { measureFmaCeiling } from '../kernels/fma-ceiling.js';
import { BASELINES, findMethod, METHODS } from '../methods/registry.js';
import { seededInput, seededValues } from '../models/seeded-init.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, FORCE, outDir, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';

/** Warm-up runs beyond --warmup while runs still create GPU buffers (the pool settles by the third). */
const MAX_EXTRA_WARMUPS = 4;
interface Job {
  label: string;
  run: () => Promise<void>;
}

export const PROFILE = defineCommand({
  name: 'profile',
  summary: 'where the GPU time goes: per layer and kernel variant, with a Perfetto trace',
  usage: '(--weights FILE | --arch NAME) [options]',
  description: `Times every GPU dispatch of a forward + backward-to-input pass (or of one attribution method) and
reports where the time goes, per layer and per kernel variant: ms, GFLOP/s, GB/s and % of the
adapter's FMA ceiling measured in the same run. Writes the tables (Markdown) and a Chrome/Perfetto
trace (JSON with traceEvents; open it in ui.perfetto.dev or chrome://tracing).
Dispatches are timed with GPU timestamp queries where the adapter has them, otherwise each dispatch
is submitted alone and timed by its completion (--mode fence).`,
  options: {
    weights: { ...WEIGHTS, required: false, help: 'model weights (.safetensors)' },
    'allow-non-finite': ALLOW_NON_FINITE,
    arch: {
      type: 'enum',
      arg: 'NAME',
      values: KNOWN_ARCHITECTURES,
      help: 'or an architecture with seeded weights (timing does not depend on the values):\nresnet18, resnet50, vgg16, cifar_resnet20, ...',
    },
    image: { type: 'file', arg: 'FILE', multiple: true, help: 'an image (PNG or JPEG); repeat for several (they form the batch)' },
    'input-size': {
      type: 'custom',
      arg: 'HxW',
      help: "input size without --image (default: the model's, e.g. 224x224)",
      parse: (text: string, flag: string): [number, number] => {
        const m = /^(\d+)(?:x(\d+))?$/.exec(text);
        const size: [number, number] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [0, 0];
        if (!m || size.some((d) => d < 1 || d > 4096))
          throw new UsageError(`${flag} needs HxW or S from 1 to 4096 (e.g. 224x224 or 32), got "${text}"`);
        return size;
      },
    },
    batch: { type: 'int', arg: 'N', min: 1, max: 1024, default: 1, help: 'batch size without --image' },
    method: {
      type: 'enum',
      arg: 'NAME',
      values: [...METHODS, ...BASELINES].map((m) => m.name),
      help: 'profile one attribution method (e.g. grad-cam, rise) instead of the passes',
    },
    'forward-only': { type: 'flag', help: 'profile the forward pass only' },
    warmup: {
      type: 'int',
      arg: 'N',
      min: 0,
      max: 100,
      default: 1,
      help: `at least N unprofiled runs first, so pipeline compiles are not timed; up to ${MAX_EXTRA_WARMUPS} more follow until a run creates no GPU buffer (0: profile the cold run)`,
    },
    mode: { type: 'enum', values: ['timestamps', 'fence'], help: 'timestamps (default where available) or fence' },
    'no-ceiling': { type: 'flag', help: 'skip measuring the FMA ceiling' },
    top: { type: 'int', arg: 'N', min: 1, max: 10_000, default: 15, help: 'rows of the per-variant table to print' },
    out: outDir('profile'),
    force: FORCE,
  },
  exclusive: [
    ['weights', 'arch'],
    ['method', 'forward-only'],
    ['image', 'input-size'],
  ],
  async run(values, out) {
    if (!values.weights && !values.arch) throw new UsageError('profile needs one of --weights FILE or --arch NAME (see --help)');
    if (values.image.length && values.batch !== 1) throw new UsageError('--image sets the batch; drop --batch, or drop --image');
    const method = values.method ? findMethod(values.method) : null;
    const engine = await acquireEngine();
    try {
      const model = values.weights
        ? await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] })
        : seededModel(engine, values.arch!, (n, s) => seededValues(n, s, 0), values.arch!.startsWith('cifar') ? 10 : 1000);
      const x = await inputBatch(engine, model, values.image, values['input-size'] ?? model.info.inputSize, values.batch);
      // A batch past the adapter's bindings is refused here, naming how many images fit, not half-way.
      assertImagesFit(model, x);
      const job = profileJob(engine, model, x, method?.name ?? (values['forward-only'] ? 'forward' : 'forward+backward'));
      const warmups = await warmUp(engine, job.run, values.warmup);
      const p = await engine.profile(job.run, values.mode ? { mode: values.mode } : {});
      const ceiling = values['no-ceiling'] ? null : await measureFmaCeiling(engine, { targetMs: 200, runs: 3 });
      const what = `${model.info.architecture} ${job.label}, input ${x.shape.join('x')}`;
      const text = report(engine, what, p, ceiling, values.top, warmups);
      process.stdout.write(text.console);
      const base = `profile-${model.info.architecture}-${job.label.replace(/[^\w+-]+/g, '_')}-n${x.shape[0]}`;
      out.expect([`${base}.md`, `${base}.trace.json`]);
      await writeFile(out.path(`${base}.md`), text.markdown, { flag: 'wx' });
      await writeFile(out.path(`${base}.trace.json`), JSON.stringify(text.trace), { flag: 'wx' });
      process.stdout.write(
        `\nwrote ${out.final(`${base}.md`)} and ${out.final(`${base}.trace.json`)} (open the trace in ui.perfetto.dev)\n`,
      );
      x.release();
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const PROFILE_HELP = PROFILE.help;
export const profileCommand = (argv: string[]): Promise<void> => PROFILE.invoke(argv);

async function inputBatch(engine: Engine, model: Model, images: string[], [h, w]: [number, number], batch: number): Promise<Tensor> {
  if (!images.length) return engine.upload(seededInput([batch, 3, h, w]), [batch, 3, h, w], 'profile.input');
  const spec = { inputSize: model.info.inputSize, mean: model.info.mean, std: model.info.std, resize: model.info.resize };
  const chws = await Promise.all(images.map(async (p) => preprocessForModel(await readImageFile(p), spec).chw));
  const [H, W] = model.info.inputSize;
  const data = new Float32Array(chws.length * 3 * H * W);
  chws.forEach((c, i) => data.set(c, i * c.length));
  return engine.upload(data, [chws.length, 3, H, W], 'profile.input');
}

function profileJob(engine: Engine, model: Model, x: Tensor, what: string): Job {
  if (what === 'forward') {
    return {
      label: 'forward',
      run: async () => {
        const t = model.forward(x, { forBackward: false });
        await t.logits.readF32();
        t.release();
      },
    };
  }
  if (what === 'forward+backward') {
    const classes = model.info.classes.length;
    return {
      label: 'forward+backward',
      run: async () => {
        const t = model.forward(x);
        // d(logit 0)/dx, the shape of every gradient method's pass
        const seed = engine.upload(
          Float32Array.from({ length: x.shape[0] * classes }, (_, i) => (i % classes === 0 ? 1 : 0)),
          [x.shape[0], classes],
        );
        const b = model.backward(t, { grad: seed });
        await b.input!.readF32();
        b.release();
        t.release();
        seed.release();
      },
    };
  }
  const method = findMethod(what);
  return {
    label: method.name,
    run: async () => {
      const a = await method.run(model, x, { target: 'top1', layer: method.usesLayer ? model.defaultCamLayer : undefined });
      await a.maps.readF32();
      engine.release(a.maps);
    },
  };
}

/**
 * The warm-up runs: at least `min`, then more while a run still creates GPU buffers. The first run
 * prepares weights (folded, packed, cached), which shifts where the engine's batches end, so the second
 * can still need buffers the first did not; a profiled run that creates buffers times their first
 * mapping in whichever dispatch writes them first (CIFAR ResNet-20 forward + backward at batch 250 on
 * lavapipe: 716-859 ms of GPU time after one warm-up, the excess in three layers, 641-678 after two or three).
 */
async function warmUp(engine: Engine, run: () => Promise<void>, min: number): Promise<number> {
  if (min === 0) return 0;
  let runs = 0;
  for (; runs < min + MAX_EXTRA_WARMUPS; runs++) {
    const before = engine.stats.pool.createdBuffers;
    await run();
    if (runs + 1 >= min && engine.stats.pool.createdBuffers === before) return runs + 1;
  }
  return runs;
}

function report(engine: Engine, what: string, p: ProfileResult<void>, ceiling: number | null, top: number, warmups: number) {
  const s = summariseProfile(p.dispatches, p.wallMs, ceiling);
  const a = engine.adapter;
  const head = [
    `# Profile: ${what}`,
    '',
    `adapter ${a.description || a.architecture || a.device}${a.isSoftware ? ' (software)' : ''}; timed by ${p.mode === 'timestamps' ? 'GPU timestamp queries' : 'per-dispatch fences'} after ${warmups} warm-up run${warmups === 1 ? '' : 's'}`,
    ...(p.createdBuffers > 0
      ? [
          '',
          `note: the profiled run created ${p.createdBuffers} GPU buffer${p.createdBuffers === 1 ? '' : 's'}; the dispatch that first wrote each also paid for its memory, so those layers read slower than they run (raise --warmup)`,
        ]
      : []),
    '',
  ].join('\n');
  const markdown = `${head}${profileMarkdown(s, Infinity)}\n`;
  const consoleText = `${head}${profileMarkdown(s, top)}\n`;
  const trace = chromeTrace(p.dispatches, { what, adapter: a, mode: p.mode, summary: s });
  return { markdown, console: consoleText, trace };
}
