import { describe, expect, it } from 'vitest';
import { lastWriterOf, ownsPath } from '../../src/kube/managed-fields.ts';

// managedFields as the apiserver writes them for a Deployment adopted by canaryd, then touched by
// `kubectl rollout restart` and `kubectl scale`.
const managedFields = [
  {
    manager: 'kubectl-create',
    operation: 'Update',
    time: '2026-12-01T22:00:00Z',
    fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': {} } } } },
  },
  { manager: 'canaryd', operation: 'Update', time: '2026-12-01T22:05:00Z', fieldsV1: { 'f:spec': { 'f:paused': {} } } },
  {
    manager: 'kubectl-rollout',
    operation: 'Update',
    time: '2026-12-01T22:10:00Z',
    fieldsV1: {
      'f:spec': { 'f:template': { 'f:metadata': { 'f:annotations': { 'f:kubectl.kubernetes.io/restartedAt': {} } } } },
    },
  },
  {
    manager: 'kubectl-scale',
    operation: 'Update',
    subresource: 'scale',
    time: '2026-12-01T22:12:00Z',
    fieldsV1: { 'f:spec': { 'f:replicas': {} } },
  },
  {
    manager: 'kube-controller-manager',
    operation: 'Update',
    subresource: 'status',
    time: '2026-12-01T22:13:00Z',
    fieldsV1: { 'f:status': {} },
  },
];

describe('who last wrote a field (metadata.managedFields)', () => {
  it.each([
    { path: ['spec', 'template'], ignore: [], manager: 'kubectl-rollout' },
    { path: ['spec', 'replicas'], ignore: [], manager: 'kubectl-scale' },
    { path: ['spec', 'replicas'], ignore: ['kubectl-scale'], manager: 'kubectl-create' },
    { path: ['spec', 'paused'], ignore: [], manager: 'canaryd' },
    { path: ['spec', 'paused'], ignore: ['canaryd'], manager: undefined },
    { path: ['spec', 'strategy'], ignore: [], manager: undefined },
  ])('$path (ignoring $ignore) → $manager', ({ path, ignore, manager }) => {
    expect(lastWriterOf(managedFields, path, ignore)?.manager).toBe(manager);
  });

  it('gives the operation, time and subresource of the entry', () => {
    expect(lastWriterOf(managedFields, ['spec', 'replicas'])).toEqual({
      manager: 'kubectl-scale',
      operation: 'Update',
      time: '2026-12-01T22:12:00Z',
      subresource: 'scale',
    });
  });

  it('reads nothing from an object without managedFields or with malformed entries', () => {
    expect(lastWriterOf(undefined, ['spec'])).toBeUndefined();
    expect(lastWriterOf([{ manager: 3 }, null, 'x'], ['spec'])).toBeUndefined();
    expect(ownsPath({ 'f:spec': null }, ['spec', 'template'])).toBe(false);
  });
});
