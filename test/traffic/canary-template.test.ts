import { describe, expect, it } from 'vitest';
import type { PodTemplate } from '../../src/kube/objects.ts';
import { canaryTemplateHashesIn, type ReplicaSet, runsCanaryTemplate } from '../../src/traffic/canary-template.ts';

const template = (image: string, labels: Record<string, string> = {}): PodTemplate => ({
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

  it('a pod runs the canary template when it is a canary pod or one of those hashes', () => {
    const stray = new Set(['bbb']);
    expect(runsCanaryTemplate({ 'canaryd.dev/track': 'canary' }, stray)).toBe(true);
    expect(runsCanaryTemplate({ 'pod-template-hash': 'bbb' }, stray)).toBe(true);
    expect(runsCanaryTemplate({ 'pod-template-hash': 'aaa' }, stray)).toBe(false);
    expect(runsCanaryTemplate(undefined, stray)).toBe(false);
  });
});
