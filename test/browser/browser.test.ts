/**
 * The browser path under `npm test`: runs test/browser/run.mjs (every kernel case table in headless
 * Chromium through navigator.gpu) as a child process, so Chromium and its GPU process stay out of
 * this worker, and asserts that every case passed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const RUNNER = fileURLToPath(new URL('./run.mjs', import.meta.url));
const TIMEOUT_S = 240;

function runRunner(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, '--timeout', String(TIMEOUT_S)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

it(
  'kernel cases pass in headless Chromium (WebGPU through navigator.gpu)',
  async () => {
    const { code, output } = await runRunner();
    const lines = output.split('\n');
    const summary = lines.filter((l) => l.startsWith('Browser: ')).at(-1) ?? '(no summary line)';
    const adapter = lines.find((l) => l.startsWith('browser: adapter')) ?? 'browser: no adapter reported';
    if (code !== 0) {
      // The failing cases with their worst differences, plus runner errors, in the assertion message.
      // Each FAIL line with its indented message, the runner's own lines, and anything it printed on
      // stderr (a stack when the runner itself broke).
      const shown: string[] = [];
      let inFailure = false;
      for (const l of lines) {
        if (l.startsWith('  FAIL')) inFailure = true;
        else if (!l.startsWith('       ')) inFailure = false;
        if (inFailure || (!l.startsWith('  ok ') && l.trim() !== '')) shown.push(l);
      }
      expect.fail(`${summary}\n${shown.join('\n')}`);
    }
    console.log(`${adapter}\n${summary}`);
    expect(summary).toMatch(/^Browser: [1-9]\d* passed, 0 failed$/);
  },
  (TIMEOUT_S + 60) * 1000,
);
