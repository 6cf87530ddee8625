import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromNginxWeight, nginxWeightProblem, readNginxWeight, toNginxWeight } from '../../src/traffic/weights.ts';

const W = 'w';
const T = 't';

describe('toNginxWeight', () => {
  it('writes integer percents over 100 and sub-percent steps exactly over the smallest total', () => {
    expect(toNginxWeight(0)).toEqual({ weight: 0, total: 100 });
    expect(toNginxWeight(5)).toEqual({ weight: 5, total: 100 });
    expect(toNginxWeight(100)).toEqual({ weight: 100, total: 100 });
    expect(toNginxWeight(0.1)).toEqual({ weight: 1, total: 1000 });
    expect(toNginxWeight(2.5)).toEqual({ weight: 25, total: 1000 });
    expect(toNginxWeight(0.05)).toEqual({ weight: 5, total: 10000 });
    expect(toNginxWeight(0.001)).toEqual({ weight: 1, total: 100000 });
    expect(toNginxWeight(33.333)).toEqual({ weight: 33333, total: 100000 });
  });

  it('refuses what it cannot write exactly instead of rounding', () => {
    expect(() => toNginxWeight(0.0001)).toThrow(/more than 3 decimals/);
    expect(() => toNginxWeight(100 / 3)).toThrow(/more than 3 decimals/);
    expect(() => toNginxWeight(-1)).toThrow(/between 0 and 100/);
    expect(() => toNginxWeight(100.5)).toThrow(/between 0 and 100/);
    expect(() => toNginxWeight(Number.POSITIVE_INFINITY)).toThrow(/between 0 and 100/);
  });

  it('round-trips every weight with up to 3 decimals, and the pair is valid for ingress-nginx', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (thousandths) => {
        const percent = thousandths / 1000;
        const pair = toNginxWeight(percent);
        expect(nginxWeightProblem(pair)).toBeUndefined();
        expect(fromNginxWeight(pair)).toBeCloseTo(percent, 9);
        expect(readNginxWeight({ [W]: String(pair.weight), [T]: String(pair.total) }, W, T)).toEqual(pair);
      }),
    );
  });
});

describe('readNginxWeight: what ingress-nginx will actually do with the annotations', () => {
  it('reads invalid values the way ingress-nginx does, and says so', () => {
    expect(readNginxWeight({ [W]: '5.5', [T]: '100' }, W, T)).toEqual({
      weight: 0,
      total: 100,
      problem: 'canary-weight "5.5" is invalid and read as 0',
    });
    expect(readNginxWeight({ [W]: '1', [T]: 'lots' }, W, T)).toMatchObject({ weight: 1, total: 100 });
    expect(readNginxWeight({}, W, T)).toMatchObject({
      weight: 0,
      total: 100,
      problem: expect.stringMatching(/missing/),
    });
    expect(readNginxWeight({ [W]: '150', [T]: '100' }, W, T)).toMatchObject({
      weight: 100,
      problem: expect.stringMatching(/every request goes to the canary/),
    });
  });

  it('defaults a missing total to 100, as ingress-nginx does', () => {
    expect(readNginxWeight({ [W]: '7' }, W, T)).toEqual({ weight: 7, total: 100 });
  });
});
