#!/usr/bin/env node
import { GpuError } from '../gpu/errors.js';
import { UsageError } from './errors.js';
import { CLASS_MEANS_HELP, classMeansCommand } from './class-means.js';
import { DEMO_HELP, demoCommand } from './demo.js';
import { EARLY_EXIT_HELP, earlyExitCommand } from './early-exit.js';
import { EVALUATE_HELP, evaluateCommand } from './evaluate.js';
import { EMBED_HELP, embedCommand } from './embed.js';
import { EXPLAIN_HELP, explainCommand } from './explain.js';
import { FILTERS_HELP, filtersCommand } from './filters.js';
import { NEIGHBOURS_HELP, neighboursCommand } from './neighbours.js';
import { PATCHES_HELP, patchesCommand } from './patches.js';
import { PROFILE_HELP, profileCommand } from './profile.js';
import { TRACE_HELP, traceCommand } from './trace.js';

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<void>; help: string }> = {
  demo: {
    summary: 'every method on generated images with both embedded default models -> out/demo/index.html',
    run: demoCommand,
    help: DEMO_HELP,
  },
  explain: {
    summary: 'explain images with attribution methods; PNG overlays, raw maps, HTML report',
    run: explainCommand,
    help: EXPLAIN_HELP,
  },
  evaluate: {
    summary: 'insertion / deletion AUC of every method on a labelled set (table, CSV, JSON)',
    run: evaluateCommand,
    help: EVALUATE_HELP,
  },
  'class-means': { summary: 'E2CM class means at every exit from a labelled set', run: classMeansCommand, help: CLASS_MEANS_HELP },
  'early-exit': {
    summary: 'E2CM early-exit accuracy against compute over a threshold sweep',
    run: earlyExitCommand,
    help: EARLY_EXIT_HELP,
  },
  filters: { summary: "draw a conv layer's filters as a PNG grid (first layer as RGB tiles)", run: filtersCommand, help: FILTERS_HELP },
  patches: { summary: 'maximally activating patches of chosen channels over a dataset', run: patchesCommand, help: PATCHES_HELP },
  neighbours: { summary: 'nearest neighbours in representation space, as PNG strips', run: neighboursCommand, help: NEIGHBOURS_HELP },
  embed: { summary: 'PCA and t-SNE maps of representation space (PNG, SVG)', run: embedCommand, help: EMBED_HELP },
  profile: {
    summary: 'where the GPU time goes: per layer and kernel variant, with a Perfetto trace',
    run: profileCommand,
    help: PROFILE_HELP,
  },
  trace: {
    summary: 'LayerTracer: layer-wise RISE maps from class-mean confidences, with the E2CM exit',
    run: traceCommand,
    help: TRACE_HELP,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `LayerTracer: CNN attribution and feature visualisation on a WebGPU engine.

usage: layertracer <command> [options]     (layertracer <command> --help for its options)

commands:
${lines.join('\n')}
`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage());
    return command ? 0 : 2;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    process.stderr.write(`unknown command "${command}"; valid commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    await entry.run(rest);
    return 0;
  } catch (err) {
    const e = err as Error;
    if (process.env.LAYERTRACER_DEBUG) console.error(e);
    const known = e instanceof UsageError || e instanceof GpuError || /Error$/.test(e.name);
    process.stderr.write(`layertracer ${command}: ${known ? e.message : e.stack}\n`);
    if (
      (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
    ) {
      process.stderr.write(`see: layertracer ${command} --help\n`);
    }
    return e instanceof UsageError ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
