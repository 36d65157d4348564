#!/usr/bin/env node
import { runCli } from './cli.js';
import { discardOpenStages } from './output-stage.js';

// An interrupted run removes its staging folder, so the output folder is left exactly as it was.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    const discarded = discardOpenStages();
    process.stderr.write(`\nlayertracer: interrupted (${signal})${discarded ? '; the output folder is left as it was' : ''}\n`);
    process.exit(code);
  });
}

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
