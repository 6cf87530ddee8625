import { describe, expect, it } from 'vitest';
import type { Deployment, PodTemplate as Template } from '../../src/kube/objects.ts';
import {
  canaryTemplateHashesIn,
  currentTemplateHashes,
  type ReplicaSet,
  runsCanaryTemplate,
} from '../../src/traffic/canary-template.ts';

const template = (image: string, labels: Record<string, string> = {}): Template => ({
  metadata: { labels: { app: 'web', ...labels } },
  spec: { containers: [{ name: 'app', image }] },
});

const rs = (owner: string, hash: string, image: string, replicas: number): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: `${owner}-${hash}`,
    labels: { app: 'web', 'pod-template-hash': hash },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner, uid: owner }],
  },
  spec: { replicas, template: template(image, { 'pod-template-hash': hash }) },
});

describe('pods of the canary template outside the canary Deployment', () => {
  const canaryTemplate = template('demo:v2', { 'canaryd.dev/track': 'canary' });

  it('finds the stable Deployment’s ReplicaSet that an unpause started with the canary template', () => {
    const sets = [
      rs('web', 'aaa', 'demo:v1', 3),
      rs('web', 'bbb', 'demo:v2', 1),
      rs('web-canary', 'ccc', 'demo:v2', 1),
    ];
    expect([...canaryTemplateHashesIn('web', sets, canaryTemplate)]).toEqual(['bbb']);
  });

  it.each([
    { case: 'scaled to zero', sets: [rs('web', 'aaa', 'demo:v1', 4), rs('web', 'bbb', 'demo:v2', 0)] },
    { case: 'another template', sets: [rs('web', 'aaa', 'demo:v1', 4), rs('web', 'ddd', 'demo:v3', 1)] },
    { case: 'owned by another Deployment', sets: [rs('api', 'bbb', 'demo:v2', 1)] },
  ])('ignores a ReplicaSet $case', ({ sets }) => {
    expect(canaryTemplateHashesIn('web', sets, canaryTemplate).size).toBe(0);
  });

  it('a pod runs the canary template when it is a canary pod of the current template or one of those hashes', () => {
    const current = new Set(['ccc']);
    const stray = new Set(['bbb']);
    const canaryPod = { 'canaryd.dev/track': 'canary', 'pod-template-hash': 'ccc' };
    expect(runsCanaryTemplate(canaryPod, current, stray)).toBe(true);
    expect(runsCanaryTemplate({ 'pod-template-hash': 'bbb' }, current, stray)).toBe(true);
    expect(runsCanaryTemplate({ 'pod-template-hash': 'aaa' }, current, stray)).toBe(false);
    expect(runsCanaryTemplate(undefined, current, stray)).toBe(false);
  });

  it('a canary pod of an older canary template is not the canary of this release', () => {
    const previousCanaryPod = { 'canaryd.dev/track': 'canary', 'pod-template-hash': 'old' };
    expect(runsCanaryTemplate(previousCanaryPod, new Set(['ccc']), new Set())).toBe(false);
  });
});

describe('the canary Deployment’s current template', () => {
  const canary = (image: string): Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web-canary', uid: 'web-canary' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: template(image, { 'canaryd.dev/track': 'canary' }) },
  });
  const canaryRs = (hash: string, image: string, replicas: number) => {
    const set = rs('web-canary', hash, image, replicas);
    set.spec!.template = template(image, { 'canaryd.dev/track': 'canary', 'pod-template-hash': hash });
    return set;
  };

  it('is the ReplicaSet whose template is the Deployment’s, even before it has pods', () => {
    // v3 replaced v2 in place: the v2 ReplicaSet still runs its pod, the v3 one is being scaled up.
    const sets = [canaryRs('v2hash', 'demo:v2', 1), canaryRs('v3hash', 'demo:v3', 0), rs('web', 'aaa', 'demo:v3', 4)];
    expect([...currentTemplateHashes(canary('demo:v3'), sets)]).toEqual(['v3hash']);
  });

  it('ignores a ReplicaSet of a deleted canary Deployment of the same name', () => {
    const orphan = canaryRs('v3hash', 'demo:v3', 1);
    orphan.metadata.ownerReferences![0]!.uid = 'an-earlier-web-canary';
    expect(currentTemplateHashes(canary('demo:v3'), [orphan]).size).toBe(0);
  });
});
