/**
 * LayerTracer against its peers on the same machine, interleaved in one process tree (`npm run
 * bench:peers`): PyTorch CPU (Debian's python3-torch, 2 threads, a worker process this driver keeps
 * open: bench/peers_torch.py) and TF.js's WebGPU backend on the same Dawn adapter (in this process).
 * Each round runs every contender once on a workload before the next round starts, so a change in
 * machine load hits all of them; the medians of the timed rounds go into ratios.
 *
 *   node dist/bench/peers.js [--quick] [--rounds N] [--warmup N] [--no-tfjs] [--no-torch] [--out out/bench]
 *                            [--torch-device cpu|cuda] [--torch-threads N] [--python PATH]
 *
 * `--torch-device cuda` times PyTorch on the GPU instead (a machine with one; each run waits for its
 * kernels), `--python` names an interpreter with torch and torchvision other than Debian's. On a real
 * GPU LayerTracer's runs are bound by JavaScript encoding the dispatches, which V8 speeds up over the
 * first twenty or so passes: give such a run `--warmup 5` or more (untimed runs per contender).
 *
 * Workloads: ResNet-18/50 and VGG-16 forward and forward + backward to the input (224x224, batch 1),
 * ResNet-50 forward at batch 8 (cost per image against batch 1), Grad-CAM at ResNet-50's layer4, and
 * RISE on the shared CIFAR-10 ResNet-20 (2000 masks in batches of 250; 500 with --quick).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { acquireEngine } from '../src/gpu/acquire.js';
import type { Engine } from '../src/gpu/engine.js';
import { modelFromFile, seededModel, type Model } from '../src/graph/model.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { gradCam } from '../src/methods/grad-cam.js';
import { rise } from '../src/methods/rise.js';
import { measureFmaCeiling } from '../src/kernels/fma-ceiling.js';
import { seededInput, seededValues } from '../src/models/seeded-init.js';
import { projectRoot } from '../src/util/project-root.js';
import { benchArgs, intFlag, usageError } from './args.js';
import { loadTfjs, tfjsWorkload, type TfjsPeer } from './peers-tfjs.js';

const SCRIPT = 'bench:peers';
const args = benchArgs(
  SCRIPT,
  'usage: bench:peers [--quick] [--rounds N] [--warmup N] [--no-tfjs] [--no-torch] [--out DIR]\n' +
    '                   [--torch-device cpu|cuda] [--torch-threads N] [--python PATH]',
  {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    warmup: { type: 'string', default: '1' },
    'no-tfjs': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    'torch-device': { type: 'string', default: 'cpu' },
    'torch-threads': { type: 'string', default: '2' },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string', default: join('out', 'bench') },
  },
);
const torchDevice = args['torch-device']!;
if (torchDevice !== 'cpu' && torchDevice !== 'cuda') usageError(SCRIPT, `--torch-device must be cpu or cuda, got ${torchDevice}`);
const torchThreads = intFlag(SCRIPT, '--torch-threads', args['torch-threads']);
/** The PyTorch column's name in the table. */
const torchLabel = torchDevice === 'cuda' ? 'PyTorch CUDA' : `PyTorch CPU (${torchThreads} thread${torchThreads === 1 ? '' : 's'})`;
const quick = args.quick!;
const rounds = intFlag(SCRIPT, '--rounds', args.rounds ?? (quick ? '2' : '5'));
const warmups = intFlag(SCRIPT, '--warmup', args.warmup);
const riseMasks = quick ? 500 : 2000;

type Contender = 'layertracer' | 'pytorch' | 'tfjs';
const CONTENDERS: Contender[] = ['layertracer', 'pytorch', 'tfjs'];

interface Runner {
  /** One run, awaited until its result is on the CPU. */
  run(): Promise<void>;
  dispose?(): void;
}

interface Workload {
  id: string;
  what: string;
  /** Units per run for a rate column (masks, images); none for plain timings. */
  units?: { count: number; name: string };
  /** Rounds for TF.js (slow at ResNet-50 / VGG scale); default: all. */
  tfjsRounds?: number;
  quick: boolean;
  make: Partial<Record<Contender, () => Promise<Runner | string>>>;
}

// ---------------------------------------------------------------- PyTorch worker

class TorchWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: ((line: string) => void)[] = [];
  private exited: string | null = null;

  constructor() {
    const script = join(projectRoot(), 'bench', 'peers_torch.py');
    this.child = spawn(args.python!, [script, '--device', torchDevice, '--threads', String(torchThreads)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    this.child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const fail = (why: string) => {
      this.exited ??= `${args.python} bench/peers_torch.py ${why}`;
      for (const r of this.replies.splice(0)) r(JSON.stringify({ error: this.exited }));
    };
    // 'error' alone when the interpreter cannot be started (a wrong --python), 'exit' otherwise.
    this.child.on('error', (err) => fail(`could not start: ${err.message}`));
    this.child.stdin.on('error', () => fail('closed its input'));
    this.child.on('exit', (code) => fail(`exited (${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.replies.shift()?.(line));
  }

  async send(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) return { error: this.exited };
    const reply = new Promise<string>((resolve) => this.replies.push(resolve));
    this.child.stdin.write(JSON.stringify(cmd) + '\n');
    return JSON.parse(await reply) as Record<string, unknown>;
  }

  /** Resolves once the worker has imported torch, which takes both cores for seconds. */
  async ready(): Promise<void> {
    await this.send({ cmd: 'ready' });
  }

  async runner(id: string, setup: Record<string, unknown>): Promise<Runner | string> {
    const r = await this.send({ cmd: 'setup', id, ...setup });
    if (r.error) return String(r.error);
    return {
      run: async () => {
        const out = await this.send({ cmd: 'run', id });
        if (out.error) throw new Error(String(out.error));
      },
    };
  }

  close(): void {
    if (!this.exited) this.child.stdin.write(JSON.stringify({ cmd: 'quit' }) + '\n');
  }
}

// ---------------------------------------------------------------- LayerTracer runners

function ltPass(engine: Engine, model: Model, batch: number, backward: boolean): Runner {
  const x = engine.upload(seededInput([batch, 3, 224, 224]), [batch, 3, 224, 224], 'peers.x');
  const seedData = new Float32Array(batch * 1000);
  for (let n = 0; n < batch; n++) seedData[n * 1000] = 1; // d logit[0] / d x, as the peers take
  const seed = engine.upload(seedData, [batch, 1000], 'peers.seed');
  return {
    async run() {
      const t = model.forward(x, { forBackward: backward });
      if (!backward) {
        await t.logits.readF32();
        t.release();
        return;
      }
      const b = model.backward(t, { grad: seed });
      await b.input!.readF32();
      b.release();
      t.release();
    },
    dispose: () => engine.releaseAll(x, seed),
  };
}

// ---------------------------------------------------------------- the table

interface Row {
  id: string;
  what: string;
  units?: { count: number; name: string };
  /** Timed runs per contender, ms; a string when it could not run. */
  results: Partial<Record<Contender, number[] | string>>;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function cell(r: Row, c: Contender): string {
  const v = r.results[c];
  if (v === undefined) return '-';
  if (typeof v === 'string') return `fails: ${v.replace(/\|/g, '/').slice(0, 80)}`;
  const m = median(v);
  const rate = r.units ? ` (${((r.units.count * 1000) / m).toFixed(0)} ${r.units.name}/s)` : '';
  return `${fmtMs(m)} ms${rate}`;
}

function ratio(r: Row, a: Contender, b: Contender): string {
  const x = r.results[a];
  const y = r.results[b];
  if (!Array.isArray(x) || !Array.isArray(y) || !x.length || !y.length) return '-';
  return `${(median(x) / median(y)).toFixed(2)}x`;
}

function table(rows: Row[]): string {
  const head = `| workload | LayerTracer | ${torchLabel} | TF.js WebGPU | LayerTracer / PyTorch | TF.js / LayerTracer |`;
  const lines = rows.map(
    (r) =>
      `| ${r.what} | ${cell(r, 'layertracer')} | ${cell(r, 'pytorch')} | ${cell(r, 'tfjs')} | ${ratio(r, 'layertracer', 'pytorch')} | ${ratio(r, 'tfjs', 'layertracer')} |`,
  );
  return [head, '|---|---:|---:|---:|---:|---:|', ...lines].join('\n');
}

/** Cost per image at batch 8 against batch 1, for each contender that ran both. */
function batchLine(rows: Row[]): string {
  const b1 = rows.find((r) => r.id === 'resnet50-fwd');
  const b8 = rows.find((r) => r.id === 'resnet50-fwd-b8');
  if (!b1 || !b8) return '';
  const per = (c: Contender) => {
    const x = b8.results[c];
    const y = b1.results[c];
    return Array.isArray(x) && Array.isArray(y) ? `${(median(x) / 8 / median(y)).toFixed(2)}x` : '-';
  };
  return `ResNet-50 forward, cost per image at batch 8 / batch 1: LayerTracer ${per('layertracer')}, PyTorch ${per('pytorch')}`;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = new Date();
  const load0 = loadavg();
  const engine = await acquireEngine();
  const torch = args['no-torch'] ? null : new TorchWorker();
  let tfjs: TfjsPeer | string | null = null;
  if (!args['no-tfjs']) {
    const { nodeGpu } = await import('../src/gpu/node-gpu.js');
    tfjs = await loadTfjs(await nodeGpu());
  }
  const tfjsRun = (arch: 'resnet18' | 'resnet50' | 'vgg16', backward: boolean) => async (): Promise<Runner | string> =>
    typeof tfjs === 'string' ? tfjs : tfjs ? tfjsWorkload(tfjs, arch, backward) : 'skipped (--no-tfjs)';
  const torchRun = (id: string, setup: Record<string, unknown>) => async (): Promise<Runner | string> =>
    torch ? torch.runner(id, setup) : 'skipped (--no-torch)';

  const models = new Map<string, Model>();
  const imagenet = (arch: string) => {
    let m = models.get(arch);
    if (!m) {
      m = seededModel(engine, arch, (n, s) => seededValues(n, s, 0));
      models.set(arch, m);
    }
    return m;
  };
  const cifarDir = join(projectRoot(), '..', 'shared', 'data', 'cifar10');

  const workloads: Workload[] = [];
  for (const arch of ['resnet18', 'resnet50', 'vgg16'] as const) {
    for (const backward of [false, true]) {
      workloads.push({
        id: `${arch}-${backward ? 'fwdbwd' : 'fwd'}`,
        what: `${arch} ${backward ? 'forward + backward to input' : 'forward'}, 224x224, batch 1`,
        quick: arch !== 'vgg16',
        // TF.js takes seconds per ResNet-50 run; VGG-16's 392 MiB classifier weight is past its binding limit.
        tfjsRounds: arch === 'resnet18' ? undefined : 1,
        make: {
          layertracer: async () => ltPass(engine, imagenet(arch), 1, backward),
          pytorch: torchRun(`${arch}-${backward}`, { kind: backward ? 'backward' : 'forward', arch, batch: 1 }),
          tfjs: quick && arch === 'vgg16' ? async () => 'skipped with --quick' : tfjsRun(arch, backward),
        },
      });
    }
  }
  workloads.push({
    id: 'resnet50-fwd-b8',
    what: 'resnet50 forward, 224x224, batch 8 (whole batch)',
    units: { count: 8, name: 'images' },
    quick: true,
    make: {
      layertracer: async () => ltPass(engine, imagenet('resnet50'), 8, false),
      pytorch: torchRun('resnet50-b8', { kind: 'forward', arch: 'resnet50', batch: 8 }),
    },
  });
  workloads.push({
    id: 'resnet50-gradcam',
    what: 'resnet50 Grad-CAM at layer4, 224x224',
    quick: true,
    make: {
      layertracer: async () => {
        const x = engine.upload(seededInput([1, 3, 224, 224]), [1, 3, 224, 224], 'peers.x');
        const model = imagenet('resnet50');
        return {
          run: async () => {
            const a = await gradCam(model, x, { layer: 'layer4' });
            await a.maps.readF32();
            engine.release(a.maps);
          },
          dispose: () => x.release(),
        };
      },
      pytorch: torchRun('resnet50-gradcam', { kind: 'gradcam', arch: 'resnet50' }),
    },
  });
  workloads.push({
    id: 'rise-resnet20',
    what: `RISE on the CIFAR-10 ResNet-20, ${riseMasks} masks in batches of 250`,
    units: { count: riseMasks, name: 'masks' },
    quick: true,
    make: {
      layertracer: async () => {
        const model = modelFromFile(engine, await readSafetensorsFile(join(cifarDir, 'resnet20.safetensors')));
        const x = engine.upload(seededInput([1, 3, 32, 32]), [1, 3, 32, 32], 'peers.cifar');
        return {
          run: async () => {
            const r = await rise(model, x, { masks: riseMasks, batchSize: 250 });
            await r.maps.readF32();
            engine.release(r.maps);
          },
          dispose: () => {
            x.release();
            model.release();
          },
        };
      },
      pytorch: torchRun('rise', { kind: 'rise', masks: riseMasks, batch: 250 }),
    },
  });

  const selected = workloads.filter((w) => !quick || w.quick);
  // The worker's start (importing torch) would otherwise overlap the ceiling's runs: it read 64-84
  // GFLOP/s that way against 99-100 alone (December 2026).
  await torch?.ready();
  const ceiling = await measureFmaCeiling(engine, { targetMs: 200, runs: 3 });
  console.log(
    `adapter ${engine.adapter.description}; FMA ceiling ${ceiling.toFixed(0)} GFLOP/s; TF.js: ${typeof tfjs === 'string' ? tfjs : tfjs ? tfjs.backend : 'off'}; ` +
      `${rounds} timed round(s) after ${warmups} warm-up run(s); load average ${load0.map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} CPUs`,
  );
  const rows: Row[] = [];
  for (const w of selected) {
    const row: Row = { id: w.id, what: w.what, units: w.units, results: {} };
    rows.push(row);
    const runners: Partial<Record<Contender, Runner>> = {};
    for (const c of CONTENDERS) {
      const make = w.make[c];
      if (!make) continue;
      try {
        const r = await make();
        if (typeof r === 'string') row.results[c] = r;
        else {
          // Warm-up: pipeline compiles, allocations, and (for LayerTracer) V8's optimised encode path.
          for (let i = 0; i < warmups; i++) await r.run();
          runners[c] = r;
          row.results[c] = [];
        }
      } catch (err) {
        row.results[c] = (err as Error).message.split('\n')[0];
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const c of CONTENDERS) {
        const r = runners[c];
        const samples = row.results[c];
        if (!r || !Array.isArray(samples)) continue;
        if (c === 'tfjs' && w.tfjsRounds !== undefined && round >= w.tfjsRounds) continue;
        try {
          const t0 = performance.now();
          await r.run();
          samples.push(performance.now() - t0);
        } catch (err) {
          row.results[c] = (err as Error).message.split('\n')[0];
        }
      }
    }
    for (const r of Object.values(runners)) r?.dispose?.();
    console.log(`${w.what}: ${CONTENDERS.map((c) => `${c} ${cell(row, c)}`).join('; ')}`);
  }
  for (const m of models.values()) m.release();
  torch?.close();
  if (tfjs && typeof tfjs !== 'string') tfjs.tf.disposeVariables();
  engine.destroy();

  const md = [
    `# LayerTracer against ${torchLabel} and TF.js WebGPU, ${started.toISOString()}`,
    '',
    `- \`bench:peers${quick ? ' -- --quick' : ''}\`: ${rounds} timed round(s) after ${warmups} warm-up run(s), contenders interleaved in every round; medians`,
    `- adapter: ${engine.adapter.description}; FMA ceiling ${ceiling.toFixed(0)} GFLOP/s (same run); ${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    `- load average ${load0.map((v) => v.toFixed(2)).join(' ')} at start, ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} at end (other jobs on the machine slow every contender)`,
    '- ratios: LayerTracer / PyTorch > 1 means LayerTracer is slower; TF.js / LayerTracer > 1 means LayerTracer is faster',
    '',
    table(rows),
    '',
    batchLine(rows),
    '',
  ].join('\n');
  console.log(`\n${md}`);
  await mkdir(args.out!, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const base = join(args.out!, `peers-${stamp}`);
  await writeFile(`${base}.md`, md);
  await writeFile(
    `${base}.json`,
    JSON.stringify({ started: started.toISOString(), quick, rounds, ceiling, torch: torchLabel, rows }, null, 1),
  );
  console.log(`wrote ${base}.md and ${base}.json`);
}

await main();
