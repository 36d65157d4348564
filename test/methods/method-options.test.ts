import { describe, expect, it } from 'vitest';
import { METHOD_OPTIONS, methodRunOptions, parseNeuron } from '../../src/cli/method-options.js';
import { parseOptions } from '../../src/cli/options.js';

const parse = (argv: string[]) => methodRunOptions(parseOptions(METHOD_OPTIONS, argv).values);

describe('method options on the command line', () => {
  it('parses every method option into the library names', () => {
    expect(
      parse([
        ...['--rise-masks', '500', '--seed', '7', '--smoothgrad-samples', '20', '--smoothgrad-sigma', '0.3'],
        ...['--smoothgrad-sigma-scale', 'absolute', '--ig-steps', '16', '--ig-baseline', 'black', '--ig-rule', 'gausslegendre'],
        ...['--hybrid-alpha', '0.4', '--l2caf-mode', 'specific', '--neuron', 'layer2.0:5:3:4', '--score-cam-batch', '32'],
      ]),
    ).toEqual({
      masks: 500,
      seed: 7,
      samples: 20,
      sigma: 0.3,
      sigmaScale: 'absolute',
      steps: 16,
      baseline: 'black',
      rule: 'gausslegendre',
      hybridAlpha: 0.4,
      l2cafMode: 'specific',
      neuron: { layer: 'layer2.0', channel: 5, row: 3, col: 4 },
      scoreCamBatch: 32,
    });
    expect(parse([])).toEqual({});
    expect(parse(['--ig-baseline', 'zero']).baseline).toBe(0);
    expect(parse(['--ig-baseline', '-1.5']).baseline).toBe(-1.5);
  });

  it('neurons: a layer, a channel, or a full unit', () => {
    expect(parseNeuron('features.12')).toEqual({ layer: 'features.12' });
    expect(parseNeuron('layer4.1:511')).toEqual({ layer: 'layer4.1', channel: 511 });
    expect(() => parseNeuron('layer4:1:2')).toThrow(/LAYER:CHANNEL:ROW:COL/);
    expect(() => parseNeuron(':3')).toThrow(/--neuron/);
  });

  it('refuses bad values with the flag named', () => {
    expect(() => parse(['--hybrid-alpha', '1.5'])).toThrow(/--hybrid-alpha/);
    expect(() => parse(['--smoothgrad-samples', '2.5'])).toThrow(/--smoothgrad-samples/);
    expect(() => parse(['--smoothgrad-sigma-scale', 'fraction'])).toThrow(/--smoothgrad-sigma-scale.*relative/);
    expect(() => parse(['--ig-baseline', 'grey'])).toThrow(/--ig-baseline/);
    expect(() => parse(['--ig-rule', 'riemann_trapezoid', '--ig-steps', '1'])).toThrow(/2 or more/);
    expect(() => parse(['--l2caf-mode', 'both'])).toThrow(/--l2caf-mode/);
    expect(() => parse(['--seed', '-1'])).toThrow(/--seed/);
  });
});
