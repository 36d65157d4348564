/**
 * The CLI as a function: argv in, exit code out, messages on the given streams. main.ts calls it for
 * the process; tests call it in-process (the bad-input table runs hundreds of cases this way).
 */
import { COMMANDS } from './commands.js';
import { describeError, EXIT } from './errors.js';

export interface CliStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`);
  return `LayerTracer: CNN attribution and feature visualisation on a WebGPU engine.

usage: layertracer <command> [options]     (layertracer <command> --help for its options)

commands:
${lines.join('\n')}
`;
}

export async function runCli(argv: readonly string[], io: CliStreams = process): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`unknown command "${name}"; valid commands: ${COMMANDS.map((c) => c.name).join(', ')}\n`);
    return EXIT.usage;
  }
  try {
    await command.invoke(rest, io.stdout);
    return EXIT.ok;
  } catch (err) {
    if (process.env.LAYERTRACER_DEBUG) console.error(err);
    const { message, exitCode } = describeError(err);
    io.stderr.write(`layertracer ${name}: ${message}\n`);
    if (exitCode === EXIT.usage) io.stderr.write(`see: layertracer ${name} --help\n`);
    return exitCode;
  }
}
