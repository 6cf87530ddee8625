// The scale benchmark's split of a fleet between shards: even, and even among the policies it
// releases (the first run put all 100 releases in one shard).
import { describe, expect, it } from 'vitest';
import { shardOfPolicy } from '../../bench/lib/replicas.ts';

const releasing = (n: number, m: number) => Array.from({ length: m }, (_, j) => Math.floor((j * n) / m));
const count = (shards: Array<string | undefined>) => {
  const counts: Record<string, number> = {};
  for (const shard of shards) counts[shard ?? '-'] = (counts[shard ?? '-'] ?? 0) + 1;
  return counts;
};

describe('shardOfPolicy', () => {
  it.each([
    [1000, 100, 2],
    [5000, 500, 2],
    [1000, 300, 2],
    [1000, 100, 3],
  ])('%i policies, %i releasing, %i shards: both the fleet and the releases split evenly', (n, m, k) => {
    const shardOf = shardOfPolicy(k, n, m);
    const all = count(Array.from({ length: n }, (_, i) => shardOf(i)));
    const released = count(releasing(n, m).map(shardOf));
    expect(Object.keys(all)).toHaveLength(k);
    for (const share of Object.values(all)) expect(Math.abs(share - n / k)).toBeLessThanOrEqual(n / m);
    expect(Object.keys(released)).toHaveLength(k);
    for (const share of Object.values(released)) expect(Math.abs(share - m / k)).toBeLessThanOrEqual(m / 10 + 1);
  });

  it('one replica: no shard label at all', () => {
    expect(shardOfPolicy(1, 1000, 100)(7)).toBeUndefined();
  });
});
