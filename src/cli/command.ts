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
  /**
   * `out` is the stage of `--out`; `extra` holds one stage per other output option the user gave
   * (e.g. `--json FILE`), committed together with `out` when `run` returns.
   */
  run(values: OptionValues<O>, out: OutputStage, extra: Readonly<Record<string, OutputStage>>): Promise<void>;
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
  const outputs: { name: string; kind: 'dir' | 'file'; existing?: 'merge' | 'move-aside' }[] = [];
  for (const [name, spec] of Object.entries(command.options)) {
    const value = v[name];
    if (value === undefined) continue;
    const paths = (Array.isArray(value) ? value : [value]) as string[];
    if (spec.type === 'file' || spec.type === 'file-or-dir') for (const p of paths) checkInput(`--${name}`, p, spec.type === 'file-or-dir');
    if (spec.type === 'out-dir' || spec.type === 'out-file') {
      const kind = spec.type === 'out-dir' ? 'dir' : 'file';
      checkOutput(`--${name}`, value as string, kind, { force, createParents: !given.has(name) });
      outputs.push({ name, kind, existing: spec.existing });
    }
  }
  // The main output is --out (else the only output option); the others are extras such as --json FILE.
  const main = outputs.find((o) => o.name === 'out') ?? outputs[0];
  if (!main) throw new Error(`command ${command.name} declares no out-dir or out-file option`);
  const stages = new Map<string, OutputStage>();
  try {
    for (const o of [main, ...outputs.filter((x) => x !== main)]) {
      stages.set(
        o.name,
        OutputStage.create(v[o.name] as string, {
          kind: o.kind,
          force,
          createParents: !given.has(o.name),
          existing: o.existing,
          flag: `--${o.name}`,
        }),
      );
    }
    const stage = stages.get(main.name)!;
    const extra = Object.fromEntries([...stages].filter(([name]) => name !== main.name));
    await command.run(values, stage, extra);
    for (const s of stages.values()) s.commit();
    if (stage.movedAside) console.log(`moved the earlier ${stage.final()} to ${stage.movedAside}`);
  } finally {
    for (const s of stages.values()) s.discard();
  }
}
