/**
 * Atomic results through real commands: a run that fails after loading, or is interrupted by SIGINT or
 * SIGTERM, leaves the output folder exactly as it was, and the corrected re-run needs no --force.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli, cli, makeFixtures, ROOT, VGG } from './cli-fixtures.js';
import { snapshot } from './snapshot.js';

const fx = await makeFixtures('lt-atomic-');
afterAll(() => fx.cleanup());
const staging = () => readdirSync(fx.dir).filter((f) => f.includes('.staging-'));

describe('atomic results', () => {
  it('a run that fails after loading leaves the folder as it was; the corrected re-run needs no --force', async () => {
    const before = snapshot(fx.out);
    const bad = await cli([
      'explain',
      '--weights',
      VGG,
      '--image',
      fx.image,
      '--method',
      'grad-cam',
      '--layer',
      'features.99',
      '--out',
      fx.out,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown layer "features.99"');
    expect(snapshot(fx.out)).toEqual(before);
    expect(staging()).toEqual([]);

    const good = await cli(['explain', '--weights', VGG, '--image', fx.image, '--method', 'grad-cam', '--out', fx.out]);
    expect(good).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(fx.out, 'shape.grad-cam.png'))).toBe(true);
    expect(existsSync(join(fx.out, 'index.html'))).toBe(true);
    expect(snapshot(fx.out)!['earlier.png']).toBe(before!['earlier.png']);
    expect(staging()).toEqual([]);

    const again = await cli(['explain', '--weights', VGG, '--image', fx.image, '--method', 'grad-cam', '--out', fx.out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('pass --force');
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`an interrupted run (${signal}) removes its staging folder and leaves the output folder as it was`, async () => {
      const main = builtCli();
      const out = join(fx.dir, `out-${signal}`);
      mkdirSync(out);
      writeFileSync(join(out, 'notes.txt'), 'mine');
      const before = snapshot(out);
      const child = spawn(
        process.execPath,
        [main, 'explain', '--weights', VGG, '--image', fx.image, '--method', 'rise', '--rise-masks', '100000', '--out', out],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((ok) => child.on('exit', (c) => ok(c)));
      // Interrupt once the run is under way: its staging folder exists and RISE reports progress.
      const deadline = Date.now() + 60_000;
      while (!(staging().length && /explain/.test(stderr)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect({ staging: staging().length, stderr }).toMatchObject({ staging: 1 });
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(stderr).toContain(`interrupted (${signal})`);
      expect(snapshot(out)).toEqual(before);
      expect(staging()).toEqual([]);
    });
  }
});
