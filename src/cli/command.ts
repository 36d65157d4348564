/**
 * A command is data: its name, help text, option table (options.ts) and a `run` that receives checked,
 * typed values and an output stage (output-stage.ts). `invokeCommand` does the rest in a fixed order:
 * parse and check every option, check every input and output path, and only then create the staging
 * folder and run; the stage is committed when `run` returns and discarded when it throws.
 */
import { checkInput, checkOutput } from './paths.js';
import { helpText, parseOptions, type OptionTable, type OptionValues } from './options.js';
import { OutputStage } from './output-stage.js';

export interface CommandSpec<O extends OptionTable> {
  name: string;
  /** One line for `layertracer --help`. */
  summary: string;
  /** What follows `layertracer NAME` in the usage line. */
  usage: string;
  description: string;
  options: O;
  /** Groups of options of which at most one may be given. */
  exclusive?: readonly (readonly (keyof O & string)[])[];
  run(values: OptionValues<O>, out: OutputStage): Promise<void>;
}

/** What the CLI and the tests need of any command, whatever its option table. */
export interface CommandInfo {
  readonly name: string;
  readonly summary: string;
  readonly options: OptionTable;
  readonly help: string;
  /** Parses argv, checks it, runs; throws the command's error (the CLI maps it to a message and exit code). */
  invoke(argv: readonly string[], stdout?: { write(text: string): unknown }): Promise<void>;
}

export type Command<O extends OptionTable = OptionTable> = CommandSpec<O> & CommandInfo & { readonly options: O };

export function defineCommand<const O extends OptionTable>(spec: CommandSpec<O>): Command<O> {
  const command: Command<O> = {
    ...spec,
    help: helpText(spec.name, spec.usage, spec.description, spec.options),
    invoke: (argv, stdout) => invokeCommand(command, argv, stdout),
  };
  return command;
}

export async function invokeCommand<O extends OptionTable>(
  command: Command<O>,
  argv: readonly string[],
  stdout: { write(text: string): unknown } = process.stdout,
): Promise<void> {
  const { values, help, given } = parseOptions(command.options, argv, command.exclusive);
  if (help) return void stdout.write(command.help);
  const v = values as Record<string, unknown>;
  const force = v.force === true;
  let output: { name: string; kind: 'dir' | 'file'; existing?: 'merge' | 'move-aside' } | null = null;
  for (const [name, spec] of Object.entries(command.options)) {
    const value = v[name];
    if (value === undefined) continue;
    const paths = (Array.isArray(value) ? value : [value]) as string[];
    if (spec.type === 'file' || spec.type === 'file-or-dir') for (const p of paths) checkInput(`--${name}`, p, spec.type === 'file-or-dir');
    if (spec.type === 'out-dir' || spec.type === 'out-file') {
      const kind = spec.type === 'out-dir' ? 'dir' : 'file';
      checkOutput(`--${name}`, value as string, kind, { force, createParents: !given.has(name) });
      output = { name, kind, existing: spec.existing };
    }
  }
  if (!output) throw new Error(`command ${command.name} declares no out-dir or out-file option`);
  const target = v[output.name] as string;
  const stage = OutputStage.create(target, {
    kind: output.kind,
    force,
    createParents: !given.has(output.name),
    existing: output.existing,
    flag: `--${output.name}`,
  });
  try {
    await command.run(values, stage);
    stage.commit();
    if (stage.movedAside) console.log(`moved the earlier ${stage.final()} to ${stage.movedAside}`);
  } finally {
    stage.discard();
  }
}
