// The stable revision's pod template is stored once in the status: the history entry of the
// same template carries none, and reading the status puts it back, so undo, retry and rollback
// find every template they found before.
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import { emptyStatus, type PolicyStatus, readStatus, storedStatus } from '../../src/controller/status.ts';
import type { HistoryEntry, JsonValue } from '../../src/engine/index.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, stableService } from '../traffic/world.ts';
import { quietDeps, StatusKube, unadoptedDeployment } from './reconcile-fixtures.ts';

const NOW = new Date('2026-12-04T23:00:00Z');
const template = (image: string): JsonValue => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image }] },
});
const entry = (revision: number, hash: string, outcome: HistoryEntry['outcome'], image?: string): HistoryEntry => ({
  revision,
  templateHash: hash,
  changeCause: `revision ${revision}`,
  startedAt: NOW.toISOString(),
  endedAt: NOW.toISOString(),
  outcome,
  reason: outcome,
  operations: [],
  ...(image === undefined ? {} : { template: template(image) }),
});

/** Stable at revision 2 (promoted); revision 3 rolled back; revision 1 the adopted one. */
function promotedThenRolledBack(): PolicyStatus {
  const status = emptyStatus(NOW);
  status.release.stable = { revision: 2, templateHash: 'h2', changeCause: 'revision 2', template: template('web:2') };
  status.release.history = [
    entry(1, 'h1', 'adopted', 'web:1'),
    entry(2, 'h2', 'succeeded', 'web:2'),
    entry(3, 'h3', 'rolledBack', 'web:3'),
  ];
  return status;
}

const asStored = (status: PolicyStatus) => JSON.parse(JSON.stringify(storedStatus(status))) as PolicyStatus;

describe('the status as stored', () => {
  it('holds the stable template once: its history entry carries none, the others keep theirs', () => {
    const stored = asStored(promotedThenRolledBack());
    expect(stored.release.stable?.template).toEqual(template('web:2'));
    expect(stored.release.history.map((h) => h.template)).toEqual([template('web:1'), undefined, template('web:3')]);
  });

  it('reads back as it was written: undo --to-revision 2 and retry find their templates', () => {
    const status = promotedThenRolledBack();
    expect(readStatus(asStored(status), NOW)).toEqual(JSON.parse(JSON.stringify(status)));
  });

  it('leaves a status with nothing to share as it is', () => {
    const status = promotedThenRolledBack();
    status.release.stable = undefined;
    expect(storedStatus(status)).toBe(status);
    const old = promotedThenRolledBack();
    old.release.history[1] = entry(2, 'h2', 'succeeded'); // its template dropped by the history's bounds
    expect(storedStatus(old)).toBe(old);
  });

  it('reads a status written before this change (the template twice) unchanged', () => {
    const older = JSON.parse(JSON.stringify(promotedThenRolledBack())) as PolicyStatus;
    expect(readStatus(older, NOW).release).toEqual(older.release);
  });

  it('is what an adoption writes: one template in the status, read back on both', async () => {
    const kube = new StatusKube(
      {
        apiVersion: 'canaryd.dev/v1alpha1',
        kind: 'CanaryPolicy',
        metadata: { name: 'web', namespace: NS, uid: 'uid-policy' },
        spec: { target: { deployment: 'web', service: 'web', router: 'replica-ratio' } },
      } as PolicyObject,
      unadoptedDeployment(2),
      stableService(),
    );
    const deps = quietDeps(
      kube,
      () => new ReplicaRatioRouter(kube),
      () => NOW,
    );
    await reconcile(deps, NS, 'web');
    const written = kube.statusWrites.at(-1)!;
    expect(written.release.stable?.template).toBeDefined();
    expect(written.release.history).toHaveLength(1);
    expect(written.release.history[0]?.template).toBeUndefined();
    const read = readStatus(written, NOW);
    expect(read.release.history[0]?.template).toEqual(read.release.stable?.template);

    // Read back and decided again, it finds nothing to write.
    const writes = kube.statusWrites.length;
    await reconcile(deps, NS, 'web');
    expect(kube.statusWrites).toHaveLength(writes);
  });
});
