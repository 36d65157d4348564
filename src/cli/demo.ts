import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSample, SPLIT_SEEDS, SYNTHETIC_CLASSES } from '../data/synthetic/index.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import { writePng } from '../image/encode-node.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { METHODS } from '../methods/registry.js';
import { demoIndex, type DemoModelSection } from '../report/demo-index.js';
import { projectRoot } from '../util/project-root.js';
import { defineCommand } from './command.js';
import { outDir } from './common-options.js';
import { explain } from './explain.js';
import { UsageError } from './errors.js';
import { riseMaskOptions, riseMaskSetting } from './rise-masks-option.js';

/** The demo is the README's first command: RISE gets a short budget so the whole run stays quick. */
const DEMO_RISE_SECONDS = 3;
import { loadModelFile, MAX_WEIGHTS_BYTES } from './load-model.js';
import { traceImages } from './trace.js';
import { DEFAULT_MASK_SCORE } from '../methods/layertracer.js';

export const DEFAULT_MODELS = [
  {
    id: 'resnet',
    title: 'ResNet-style (CIFAR layout, option-A shortcuts)',
    weights: 'default-resnet.safetensors',
    means: 'default-resnet.means.safetensors',
  },
  { id: 'vgg', title: 'VGG-style (plain conv stack)', weights: 'default-vgg.safetensors', means: 'default-vgg.means.safetensors' },
];

export const DEMO = defineCommand({
  name: 'demo',
  summary: 'every method on generated images with both embedded default models -> out/demo/index.html',
  usage: '[options]',
  description: `Runs every implemented method with both embedded default models (weights/default-resnet and
weights/default-vgg, trained on the project's generated shapes data) on a handful of generated test
images, plus LayerTracer strips from the shipped calibrated class means (every exit, one colour scale,
the exit each image takes framed in red), and writes out/demo/index.html.
An earlier report is moved aside to out/demo-previous-<time>, never deleted.`,
  options: {
    images: { type: 'int', arg: 'N', min: 1, max: 100, default: 4, help: 'generated test images' },
    ...riseMaskOptions(DEMO_RISE_SECONDS, 'RISE masks'),
    'trace-masks': { type: 'int', arg: 'N', min: 1, max: 100_000, default: 500, help: 'LayerTracer masks' },
    out: { ...outDir('demo'), existing: 'move-aside' },
  },
  async run(values, stage) {
    const out = stage.dir;
    const imagesDir = join(out, 'images');
    await mkdir(imagesDir, { recursive: true });
    const images = await writeDemoImages(imagesDir, values.images);

    const weightsDir = join(projectRoot(), 'weights');
    const engine = await acquireEngine();
    const sections: DemoModelSection[] = [];
    const adapter = `${engine.adapter.description || engine.adapter.architecture || 'unknown'}${engine.adapter.isSoftware ? ' (software)' : ''}`;
    const started = performance.now();
    try {
      console.log(`adapter: ${adapter}`);
      const present = DEFAULT_MODELS.filter((m) => existsSync(join(weightsDir, m.weights)));
      if (!present.length) {
        throw new UsageError(`no default model in ${weightsDir}; train them with tools/train_default_models.py (see weights/README.md)`);
      }
      for (const m of DEFAULT_MODELS.filter((x) => !present.includes(x)))
        console.log(`note: ${m.weights} is missing; skipping the ${m.id} model`);
      for (const m of present) {
        console.log(`\n== ${m.title}: ${m.weights}`);
        const model = await loadModelFile(engine, join(weightsDir, m.weights));
        const explainDir = join(out, m.id);
        const summary = await explain(engine, model, {
          images: images.map((i) => i.path),
          methods: METHODS,
          targets: ['top1'],
          colormap: 'jet',
          riseMasks: riseMaskSetting(values['rise-masks'], values['rise-seconds']),
          outDir: explainDir,
          show: stage.show,
          title: `${m.title}: every method`,
        });
        const links: [string, string][] = [];
        const meansPath = join(weightsDir, m.means);
        if (existsSync(meansPath)) {
          const means = classMeansFromFile(await readSafetensorsFile(meansPath, { maxBytes: MAX_WEIGHTS_BYTES }));
          await traceImages(
            engine,
            model,
            means,
            images.map((i) => i.path),
            {
              target: 'top1',
              masks: values['trace-masks'],
              s: 7,
              p: 0.5,
              seed: 0,
              batchSize: 64,
              score: DEFAULT_MASK_SCORE,
              scale: 'shared',
              // The calibrated per-exit thresholds shipped in the means file mark where each image exits.
              threshold: undefined,
              causal: true,
              pixelsPerStep: 128,
              allExits: true,
              outDir: join(out, `${m.id}-trace`),
              show: stage.show,
            },
          );
          links.push(['LayerTracer strips', `${m.id}-trace/layertracer.html`]);
        } else {
          console.log(`no class means at ${meansPath}; skipping LayerTracer (make them with \`layertracer class-means\`)`);
        }
        sections.push({
          dir: m.id,
          title: m.title,
          facts: [
            model.info.architecture,
            `test accuracy ${model.info.accuracy ?? 'n/a'}`,
            `CAM layer ${summary.layer}`,
            ...(summary.riseMasks ? [`RISE ${summary.riseMasks} masks`] : []),
            `${summary.methods.reduce((a, x) => a + (x.seconds ?? 0), 0).toFixed(1)} s for every method on ${images.length} images`,
          ],
          rows: summary.rows,
          methods: summary.methods,
          links,
        });
        model.release();
      }
    } finally {
      engine.destroy();
    }
    await writeFile(
      join(out, 'index.html'),
      demoIndex({
        title: 'LayerTracer demo',
        intro: `Every method with each embedded default model on ${images.length} generated test images (never seen in training); "true" is the ground truth, below it the model's top-1. Click a thumbnail for the full-size picture.`,
        colormap: 'jet',
        labels: images.map((i) => i.label),
        models: sections,
        facts: [`adapter ${adapter}`, `${((performance.now() - started) / 1000).toFixed(0)} s in all, including the LayerTracer strips`],
      }),
      { flag: 'wx' },
    );
    console.log(`\nwrote ${stage.final('index.html')}`);
  },
});

export const DEMO_HELP = DEMO.help;
export const demoCommand = (argv: string[]): Promise<void> => DEMO.invoke(argv);

/** The first generated test images, one per class where possible, as PNG files. */
async function writeDemoImages(dir: string, count: number): Promise<{ path: string; label: string }[]> {
  const picked: { path: string; label: string }[] = [];
  const seen = new Set<number>();
  for (let i = 0; picked.length < count && i < 1000; i++) {
    const s = generateSample(SPLIT_SEEDS.test, i);
    if (seen.has(s.label) && seen.size < SYNTHETIC_CLASSES.length) continue;
    seen.add(s.label);
    const path = join(dir, `test-${String(i).padStart(3, '0')}-${SYNTHETIC_CLASSES[s.label]}.png`);
    await writePng(path, { width: 64, height: 64, data: s.image });
    picked.push({ path, label: SYNTHETIC_CLASSES[s.label] });
  }
  return picked;
}
