import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine, ProfileResult } from '../gpu/engine.js';
import { chromeTrace, profileMarkdown, summariseProfile } from '../gpu/profile-report.js';
import type { Tensor } from '../gpu/tensor.js';
import { seededModel, type Model } from '../graph/model.js';
import { readImageFile } from '../image/decode-node.js';
import { preprocessForModel } from '../image/preprocess.js';
import { measureFmaCeiling } from '../kernels/fma-ceiling.js';
import { findMethod } from '../methods/registry.js';
import { seededInput, seededValues } from '../models/seeded-init.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';

export const PROFILE_HELP = `layertracer profile (--weights FILE | --arch NAME) [options]

Times every GPU dispatch of a forward + backward-to-input pass (or of one attribution method) and
reports where the time goes, per layer and per kernel variant: ms, GFLOP/s, GB/s and % of the
adapter's FMA ceiling measured in the same run. Writes the tables (Markdown) and a Chrome/Perfetto
trace (JSON with traceEvents; open it in ui.perfetto.dev or chrome://tracing).
Dispatches are timed with GPU timestamp queries where the adapter has them, otherwise each dispatch
is submitted alone and timed by its completion (--mode fence).

  --weights FILE       model weights (.safetensors)
  --arch NAME          or a torchvision/CIFAR architecture with seeded weights (timing does not depend
                       on the values): resnet18, resnet50, vgg16, cifar_resnet20, ...
  --image FILE         an image (PNG or JPEG); repeat for several (they form the batch)
  --input-size HxW     input size without --image (default: the model's, e.g. 224x224)
  --batch N            batch size without --image (default 1)
  --method NAME        profile one attribution method (e.g. grad-cam, rise) instead of the passes
  --forward-only       profile the forward pass only
  --warmup N           unprofiled runs first, so pipeline compiles are not timed (default 1)
  --mode MODE          timestamps (default where available) or fence
  --no-ceiling         skip measuring the FMA ceiling
  --top N              rows of the per-variant table to print (default 15)
  --out DIR            output folder (default out/profile)
  --force              overwrite existing outputs
  -h, --help           this text
`;

interface Job {
  label: string;
  run: () => Promise<void>;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} needs a non-negative integer, got "${text}"`);
  return n;
}

function parseSize(text: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/.exec(text);
  if (!m || Number(m[1]) < 1) throw new UsageError(`--input-size needs HxW or S (e.g. 224x224 or 32), got "${text}"`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

export async function profileCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      arch: { type: 'string' },
      image: { type: 'string', multiple: true },
      'input-size': { type: 'string' },
      batch: { type: 'string', default: '1' },
      method: { type: 'string' },
      'forward-only': { type: 'boolean', default: false },
      warmup: { type: 'string', default: '1' },
      mode: { type: 'string' },
      'no-ceiling': { type: 'boolean', default: false },
      top: { type: 'string', default: '15' },
      out: { type: 'string', default: join('out', 'profile') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(PROFILE_HELP);
  if (!values.weights === !values.arch) throw new UsageError('profile needs exactly one of --weights FILE or --arch NAME (see --help)');
  if (values.image?.length && (values['input-size'] || values.batch !== '1')) {
    throw new UsageError('--image sets the batch and input size; drop --input-size / --batch, or drop --image');
  }
  for (const img of values.image ?? []) if (!existsSync(img)) throw new UsageError(`image "${img}" does not exist`);
  const mode = values.mode;
  if (mode !== undefined && mode !== 'timestamps' && mode !== 'fence') throw new UsageError(`--mode is timestamps or fence, got "${mode}"`);
  const method = values.method ? findMethod(values.method) : null;
  if (method && values['forward-only']) throw new UsageError('--method and --forward-only do not combine');
  const batch = positiveInt('--batch', values.batch!);
  if (batch < 1) throw new UsageError('--batch must be at least 1');
  const warmup = positiveInt('--warmup', values.warmup!);
  const top = positiveInt('--top', values.top!);
  const size = values['input-size'] ? parseSize(values['input-size']) : null;

  const engine = await acquireEngine();
  try {
    const model = values.weights
      ? await loadModelFile(engine, values.weights)
      : seededModel(engine, values.arch!, (n, s) => seededValues(n, s, 0), values.arch!.startsWith('cifar') ? 10 : 1000);
    const x = await inputBatch(engine, model, values.image ?? [], size ?? model.info.inputSize, batch);
    const job = profileJob(engine, model, x, method?.name ?? (values['forward-only'] ? 'forward' : 'forward+backward'));
    for (let i = 0; i < warmup; i++) await job.run();
    const p = await engine.profile(job.run, mode ? { mode } : {});
    const ceiling = values['no-ceiling'] ? null : await measureFmaCeiling(engine, { targetMs: 200, runs: 3 });
    const what = `${model.info.architecture} ${job.label}, input ${x.shape.join('x')}`;
    const text = report(engine, what, p, ceiling, top);
    process.stdout.write(text.console);
    await mkdir(values.out!, { recursive: true });
    const base = join(values.out!, `profile-${model.info.architecture}-${job.label.replace(/[^\w+-]+/g, '_')}-n${x.shape[0]}`);
    for (const f of [`${base}.md`, `${base}.trace.json`]) {
      if (existsSync(f) && !values.force) throw new UsageError(`${f} exists; pass --force to overwrite`);
    }
    await writeFile(`${base}.md`, text.markdown);
    await writeFile(`${base}.trace.json`, JSON.stringify(text.trace));
    process.stdout.write(`\nwrote ${base}.md and ${base}.trace.json (open the trace in ui.perfetto.dev)\n`);
    x.release();
    model.release();
  } finally {
    engine.destroy();
  }
}

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

function report(engine: Engine, what: string, p: ProfileResult<void>, ceiling: number | null, top: number) {
  const s = summariseProfile(p.dispatches, p.wallMs, ceiling);
  const a = engine.adapter;
  const head = [
    `# Profile: ${what}`,
    '',
    `adapter ${a.description || a.architecture || a.device}${a.isSoftware ? ' (software)' : ''}; timed by ${p.mode === 'timestamps' ? 'GPU timestamp queries' : 'per-dispatch fences'}`,
    '',
  ].join('\n');
  const markdown = `${head}${profileMarkdown(s, Infinity)}\n`;
  const consoleText = `${head}${profileMarkdown(s, top)}\n`;
  const trace = chromeTrace(p.dispatches, { what, adapter: a, mode: p.mode, summary: s });
  return { markdown, console: consoleText, trace };
}
