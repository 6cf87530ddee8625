import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Deployment, Service } from '../../src/kube/objects.ts';
import { isTrafficError } from '../../src/traffic/errors.ts';
import {
  isPinned,
  originalSelector,
  pinnedSelectorDrift,
  pinSelectorPatch,
  type ReplicaSet,
  recordedBy,
  restoreSelectorPatch,
  stableTemplateHash,
} from '../../src/traffic/selector.ts';
import { applyMergePatch } from './fake-kube.ts';

const labelKey = fc.stringMatching(/^[a-z]([a-z0-9.-]{0,10}\/)?[a-z][a-z0-9_.-]{0,15}$/);
const labelValue = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,20})?$/);
const labels = (minKeys: number) => fc.dictionary(labelKey, labelValue, { minKeys, maxKeys: 5 });

const serviceWith = (selector: Record<string, string>, annotations?: Record<string, string>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', ...(annotations === undefined ? {} : { annotations }) },
  spec: { selector, ports: [{ port: 80 }] },
});

// What the API server stores after a merge patch: empty maps are dropped (omitempty).
const patched = (service: Service, patch: object | undefined): Service => {
  if (patch === undefined) return service;
  const next = applyMergePatch(service, patch) as Service;
  if (next.metadata.annotations !== undefined && Object.keys(next.metadata.annotations).length === 0) {
    delete next.metadata.annotations;
  }
  return next;
};

/** The policy pinning, as its records name it. */
const WEB = { policy: 'shop/web', uid: 'uid-2' };

describe('pinning the stable Service selector', () => {
  it('adds the stable pod-template-hash and records the selector as found', () => {
    const pinned = patched(
      serviceWith({ app: 'web', tier: 'frontend' }),
      pinSelectorPatch(serviceWith({ app: 'web', tier: 'frontend' }), 'abc123', WEB),
    );
    expect(pinned.spec.selector).toEqual({ app: 'web', tier: 'frontend', 'pod-template-hash': 'abc123' });
    expect(isPinned(pinned)).toBe(true);
    expect(originalSelector(pinned)).toEqual({ app: 'web', tier: 'frontend' });
    expect(pinSelectorPatch(pinned, 'abc123', WEB)).toBeUndefined(); // idempotent
  });

  it('records the policy that pinned it, so a policy deleted without its finalizer leaves no pin behind', () => {
    const found = serviceWith({ app: 'web' });
    const pinned = patched(found, pinSelectorPatch(found, 'abc123', WEB));
    expect(recordedBy(pinned)).toEqual(WEB);
    expect(recordedBy(found)).toBeUndefined();
    // A pin an older canaryd made carries no policy: the next pin records it, and changes nothing else.
    const {
      'canaryd.dev/policy': _owner,
      'canaryd.dev/policy-uid': _uid,
      ...older
    } = pinned.metadata.annotations ?? {};
    const olderPin = { ...pinned, metadata: { ...pinned.metadata, annotations: older } };
    expect(recordedBy(olderPin)).toBeUndefined();
    expect(pinSelectorPatch(olderPin, 'abc123', WEB)).toEqual({
      metadata: { annotations: { 'canaryd.dev/policy': 'shop/web', 'canaryd.dev/policy-uid': 'uid-2' } },
    });
    // A pin of an earlier policy of the same name (another uid) is recorded as this one's once it pins.
    const earlier = patched(found, pinSelectorPatch(found, 'abc123', { policy: 'shop/web', uid: 'uid-1' }));
    expect(recordedBy(earlier)).toEqual({ policy: 'shop/web', uid: 'uid-1' });
    expect(recordedBy(patched(earlier, pinSelectorPatch(earlier, 'abc123', WEB)))).toEqual(WEB);
    // Restored, the policy goes with the record.
    expect(patched(pinned, restoreSelectorPatch(pinned))).toEqual(found);
    expect(patched(olderPin, restoreSelectorPatch(olderPin))).toEqual(found);
  });

  it('restores any selector exactly, whatever else is on the Service, even when re-pinned in between', () => {
    fc.assert(
      fc.property(
        labels(1),
        fc.option(labels(1), { nil: undefined }),
        labelValue,
        labelValue,
        (selector, annotations, hash1, hash2) => {
          const found = serviceWith(selector, annotations);
          let service = patched(found, pinSelectorPatch(found, hash1, WEB));
          service = patched(service, pinSelectorPatch(service, hash2, WEB)); // the stable hash changed
          const restored = patched(service, restoreSelectorPatch(service));
          expect(restored).toEqual(found);
          expect(restoreSelectorPatch(restored)).toBeUndefined();
        },
      ),
    );
  });

  it('reports an edited pinned selector and pinning again puts back exactly the recorded one plus the pin', () => {
    const found = serviceWith({ app: 'web' });
    const pinned = patched(found, pinSelectorPatch(found, 'abc123', WEB));
    expect(pinnedSelectorDrift(pinned)).toBeUndefined();
    expect(pinnedSelectorDrift(found)).toBeUndefined(); // not pinned: nothing canaryd owns
    const edits: Array<[Record<string, string | null>, RegExp]> = [
      [{ edited: 'by-someone' }, /selector was changed to \{"app":"web","edited":"by-someone"\}/],
      [{ 'pod-template-hash': null }, /no longer pinned/],
      [{ app: 'api' }, /selector was changed to \{"app":"api"\}/],
    ];
    for (const [edit, reported] of edits) {
      const edited = patched(pinned, { spec: { selector: edit } });
      expect(pinnedSelectorDrift(edited)).toMatch(reported);
      const repaired = patched(edited, pinSelectorPatch(edited, 'abc123', WEB));
      expect(repaired.spec.selector).toEqual({ app: 'web', 'pod-template-hash': 'abc123' });
      expect(pinnedSelectorDrift(repaired)).toBeUndefined();
      expect(patched(repaired, restoreSelectorPatch(repaired))).toEqual(found);
    }
  });

  it('refuses a Service without selector, and a damaged record, with what to do', () => {
    expect(() => pinSelectorPatch(serviceWith({}), 'abc', WEB)).toThrow(/has no selector/);
    const damaged = serviceWith({ app: 'web', 'pod-template-hash': 'x' }, { 'canaryd.dev/original-selector': '{app' });
    expect(() => restoreSelectorPatch(damaged)).toThrow(/restore the selector by hand/);
    const wrongShape = serviceWith({ app: 'web' }, { 'canaryd.dev/original-selector': '["app"]' });
    expect(() => originalSelector(wrongShape)).toThrow(/not a map of labels/);
  });
});

describe('stableTemplateHash', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'u1' },
  } as Deployment;
  const rs = (hash: string, replicas: number, owner = 'web', uid = 'u1'): ReplicaSet => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${owner}-${hash}`,
      labels: { 'pod-template-hash': hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner, uid }],
    },
    spec: { replicas },
  });

  it('is the hash of the one ReplicaSet of the Deployment that runs pods', () => {
    expect(
      stableTemplateHash(deployment, [
        rs('old', 0),
        rs('cur', 3),
        rs('can', 1, 'web-canary'),
        rs('gone', 2, 'web', 'u0'),
      ]),
    ).toBe('cur');
  });

  it('pins the older ReplicaSet when a paused Deployment began to roll its current template', () => {
    // A policy and a new image applied together: one pod of the new template rolled before the
    // pause took. Its pods stay out of the stable Service; the release can start.
    const template = (image: string, hash?: string) => ({
      metadata: { labels: { app: 'web', ...(hash ? { 'pod-template-hash': hash } : {}) } },
      spec: { containers: [{ name: 'app', image }] },
    });
    const paused = {
      ...deployment,
      spec: { paused: true, selector: {}, template: template('app:v2') },
    } as unknown as Deployment;
    const withTemplate = (r: ReplicaSet, image: string): ReplicaSet => ({
      ...r,
      spec: { ...r.spec, template: template(image, r.metadata.labels?.['pod-template-hash']) },
    });
    const both = [withTemplate(rs('v1', 3), 'app:v1'), withTemplate(rs('v2', 1), 'app:v2')];
    expect(stableTemplateHash(paused, both)).toBe('v1');
    // Not paused, the Deployment is rolling by itself: wait for it.
    const rolling = { ...paused, spec: { ...paused.spec, paused: false } } as Deployment;
    expect(() => stableTemplateHash(rolling, both)).toThrow(/let its rollout finish/);
    // Neither made from the current template (an older roll interrupted): refuse.
    const older = [withTemplate(rs('v0', 2), 'app:v0'), withTemplate(rs('v1', 2), 'app:v1')];
    expect(() => stableTemplateHash(paused, older)).toThrow(/several ReplicaSets/);
  });

  it('refuses while pods of two ReplicaSets run, or when none does', () => {
    const error = (() => {
      try {
        stableTemplateHash(deployment, [rs('a', 2), rs('b', 1)]);
      } catch (caught) {
        return caught;
      }
    })();
    expect(isTrafficError(error, 'MidRollout')).toBe(true);
    expect((error as Error).message).toMatch(/web-a, web-b.*let its rollout finish/);
    expect(() => stableTemplateHash(deployment, [rs('a', 0)])).toThrow(/no running ReplicaSet/);
  });
});
