// Comparing Kubernetes objects however the API server ordered their keys: canonicalJson (a string,
// for hashes) and sameJson (the same verdict without building it, asked on every pass).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sameJson } from '../../src/kube/canonical-json.ts';

/** The same value with every object's keys in reverse order and an undefined member added. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).reverse();
  return Object.fromEntries([...entries.map(([k, v]) => [k, reordered(v)]), ['absent', undefined]]);
}

describe('canonicalJson and sameJson', () => {
  it('a status read back from the API server in another key order is unchanged', () => {
    const written = { phase: 'idle', release: { stable: { revision: 1, templateHash: 'abc' }, history: [] } };
    const readBack = { release: { history: [], stable: { templateHash: 'abc', revision: 1 } }, phase: 'idle' };
    expect(canonicalJson(written)).toBe(canonicalJson(readBack));
    expect(sameJson(written, readBack)).toBe(true);
    expect(sameJson(written, { ...readBack, phase: 'progressing' })).toBe(false);
  });

  it('an undefined member is absent; null is a value', () => {
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(true);
    expect(sameJson({ a: 1, b: null }, { a: 1 })).toBe(false);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson({ a: undefined }, { b: undefined })).toBe(true);
  });

  it('arrays keep their order; an array is not an object with index keys', () => {
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson([1, 2], [1, 2, 3])).toBe(false);
    expect(sameJson([1], { 0: 1 })).toBe(false);
    expect(sameJson({ 0: 1 }, [1])).toBe(false);
    expect(sameJson([], {})).toBe(false);
  });

  it('agrees with canonicalJson on any JSON values, and ignores key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(sameJson(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
        expect(sameJson(a, reordered(a))).toBe(true);
        expect(canonicalJson(reordered(a))).toBe(canonicalJson(a));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with canonicalJson on values that differ in one place', () => {
    const value = fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
    fc.assert(
      fc.property(value, fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), (a, key, changed) => {
        const b = { ...a, [key]: changed };
        expect(sameJson(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
      }),
      { numRuns: 500 },
    );
  });
});
