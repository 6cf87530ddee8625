// A policy deleted without handing its Deployment back (its finalizer removed by hand) left the
// Deployment paused and marked: deploy/'s admission policy then refuses anyone else's unpause, and
// the next `kubectl set image` would never roll. canaryd hands such a Deployment back itself.
import { describe, expect, it } from 'vitest';
import { ADOPTED_TEMPLATE_ANNOTATION, MANAGED_LABEL } from '../../src/controller/names.ts';
import { orphanDecision } from '../../src/controller/orphan.ts';
import { orphanSweepOver } from '../../src/controller/orphan-sweep.ts';
import { templateHash } from '../../src/controller/template.ts';
import { CachedKubeApi } from '../../src/kube/cached-api.ts';
import { ObjectStore } from '../../src/kube/object-store.ts';
import type { Deployment, KubeObject } from '../../src/kube/objects.ts';
import { trimForCache } from '../../src/kube/trim.ts';
import { ORIGINAL_REPLICAS, OWNER_POLICY, OWNER_POLICY_UID } from '../../src/traffic/labels.ts';
import { FakeKube } from '../traffic/fake-kube.ts';
import { NS } from '../traffic/world.ts';
import { policyRefOf, sweepOver } from './orphan-fixtures.ts';
import { StatusKube, unadoptedDeployment } from './reconcile-fixtures.ts';

const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' };
const policy = (name: string): KubeObject => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
});

/** The Deployment as canaryd left it at rest: paused on the template it runs, marked by shop/web. */
function marked(change: (d: Deployment) => void = () => {}): Deployment {
  const deployment = unadoptedDeployment(3);
  deployment.spec.paused = true;
  deployment.metadata.resourceVersion = '7';
  deployment.metadata.labels = { ...deployment.metadata.labels, [MANAGED_LABEL]: 'true' };
  deployment.metadata.annotations = {
    ...deployment.metadata.annotations,
    [OWNER_POLICY]: `${NS}/web`,
    [ADOPTED_TEMPLATE_ANNOTATION]: templateHash(deployment.spec.template),
  };
  change(deployment);
  return deployment;
}
/** Mid-release: the new template set on the paused Deployment, which makes no ReplicaSet for it. */
const midRelease = (d: Deployment) => {
  d.spec.template = { ...d.spec.template, spec: { containers: [{ name: 'web', image: 'shop/web:3.0.0' }] } };
  d.metadata.generation = 2;
  d.status = { ...d.status, observedGeneration: 2, updatedReplicas: 0 };
};
const unmark = {
  labels: { [MANAGED_LABEL]: null },
  annotations: {
    [OWNER_POLICY]: null,
    [OWNER_POLICY_UID]: null,
    [ADOPTED_TEMPLATE_ANNOTATION]: null,
    [ORIGINAL_REPLICAS]: null,
  },
};

describe('what canaryd does with a Deployment whose policy is gone', () => {
  it('at rest: unpaused and unmarked, against the version it decided on', () => {
    const decision = orphanDecision(marked(), { policy: `${NS}/web` });
    expect(decision).toEqual({
      kind: 'handBack',
      patch: { metadata: { ...unmark, resourceVersion: '7' }, spec: { paused: false } },
      event: {
        type: 'Normal',
        reason: 'Released',
        message:
          'CanaryPolicy shop/web is gone without handing this Deployment back (its finalizer was removed): ' +
          'canaryd unpaused it and removed its mark',
      },
    });
  });

  it('mid-release: unmarked but left paused, so the new template does not roll unverified; the Event says how to go on', () => {
    const decision = orphanDecision(marked(midRelease), { policy: `${NS}/web` });
    expect(decision.kind).toBe('handBack');
    if (decision.kind !== 'handBack') return;
    expect(decision.patch).toEqual({ metadata: { ...unmark, resourceVersion: '7' } });
    expect(decision.event.type).toBe('Warning');
    expect(decision.event.reason).toBe('ReleaseAbandoned');
    expect(decision.event.message).toContain('while a release was in flight');
    expect(decision.event.message).toContain('`kubectl rollout resume deployment/web`');
    // A paused Deployment cannot be undone (kubectl refuses): the way back is to set the template back.
    expect(decision.event.message).toContain('set the template back');
    expect(decision.event.message).toContain('`kubectl rollout undo` refuses a paused Deployment');
  });

  it('a replica-ratio surge in force: the replicas go back to those recorded', () => {
    const decision = orphanDecision(
      marked((d) => {
        midRelease(d);
        d.spec.replicas = 5;
        d.metadata.annotations = { ...d.metadata.annotations, [ORIGINAL_REPLICAS]: '3' };
      }),
      { policy: `${NS}/web` },
    );
    expect(decision.kind === 'handBack' && decision.patch).toEqual({
      metadata: { ...unmark, resourceVersion: '7' },
      spec: { replicas: 3 },
    });
    expect(decision.kind === 'handBack' && decision.event.message).toContain('its replicas set back to 3');
  });

  it('paused by the adoption, the Deployment controller not caught up yet: unpaused (the template is the one adopted)', () => {
    const decision = orphanDecision(
      marked((d) => {
        d.metadata.generation = 2;
      }),
      { policy: `${NS}/web` },
    );
    expect(decision.kind === 'handBack' && decision.patch).toMatchObject({ spec: { paused: false } });
  });

  it('a changed template the Deployment controller has not looked at yet: waits for its status', () => {
    const decision = orphanDecision(
      marked((d) => {
        midRelease(d);
        d.metadata.generation = 3;
      }),
      { policy: `${NS}/web` },
    );
    expect(decision).toEqual({ kind: 'wait' });
  });

  it('already unpaused (deleted during promotion): only the mark goes, the roll goes on', () => {
    const decision = orphanDecision(
      marked((d) => {
        d.spec.paused = false;
      }),
      { policy: `${NS}/web` },
    );
    expect(decision).toMatchObject({
      kind: 'handBack',
      patch: { metadata: { ...unmark, resourceVersion: '7' } },
      event: { type: 'Normal', reason: 'Released' },
    });
    expect(decision.kind === 'handBack' && 'spec' in decision.patch).toBe(false);
  });
});

const deployment = (kube: FakeKube) => kube.peek<Deployment>(ref)!;

describe('the sweep for Deployments left marked', () => {
  it('at start, hands back one whose policy exists nowhere, with an Event on the Deployment', async () => {
    const kube = new FakeKube(marked());
    const { sweep, events, asked } = sweepOver(kube);
    await sweep.start();
    expect(asked).toEqual([[`${NS}/web`]]);
    expect(deployment(kube).spec.paused).toBe(false);
    expect(deployment(kube).metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(deployment(kube).metadata.annotations?.[OWNER_POLICY]).toBeUndefined();
    expect(events).toEqual([{ name: 'Deployment/web', type: 'Normal', reason: 'Released' }]);
  });

  it('leaves alone one whose policy this replica holds, without asking the API server', async () => {
    const kube = new FakeKube(marked(), policy('web'));
    const { sweep, events, asked } = sweepOver(kube);
    await sweep.start();
    expect(asked).toEqual([]);
    expect(deployment(kube).spec.paused).toBe(true);
    expect(events).toEqual([]);
  });

  it("leaves alone one whose policy is another shard's (it exists on the API server)", async () => {
    const kube = new FakeKube(marked());
    const { sweep, events } = sweepOver(kube, [`${NS}/web`]);
    await sweep.start();
    expect(deployment(kube).spec.paused).toBe(true);
    expect(deployment(kube).metadata.labels?.[MANAGED_LABEL]).toBe('true');
    expect(events).toEqual([]);
  });

  it('a policy leaving the cache while canaryd runs: its Deployment is looked at and handed back', async () => {
    const kube = new FakeKube(marked(), policy('web'));
    const { sweep, events } = sweepOver(kube);
    await sweep.start();
    kube.remove({ apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' });
    sweep.onEvent('delete', policy('web'));
    await sweep.idle();
    expect(deployment(kube).spec.paused).toBe(false);
    expect(events).toEqual([{ name: 'Deployment/web', type: 'Normal', reason: 'Released' }]);
  });

  it("waits for the Deployment controller's status, then hands back on the Deployment's next event", async () => {
    const kube = new FakeKube(
      marked((d) => {
        midRelease(d);
        d.metadata.generation = 3;
      }),
    );
    const { sweep, events, asked } = sweepOver(kube);
    await sweep.start();
    expect(deployment(kube).metadata.labels?.[MANAGED_LABEL]).toBe('true');
    kube.mutate<Deployment>(ref, (d) => {
      d.status = { ...d.status, observedGeneration: 3 };
    });
    sweep.onEvent('update', deployment(kube));
    await sweep.idle();
    expect(asked).toHaveLength(1); // found gone once: not asked again
    expect(deployment(kube).spec.paused).toBe(true);
    expect(deployment(kube).metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(events).toEqual([{ name: 'Deployment/web', type: 'Warning', reason: 'ReleaseAbandoned' }]);
  });

  it('a Deployment changed between the look and the patch is not overwritten; its change brings it back', async () => {
    const kube = new FakeKube(marked());
    const { sweep, events } = sweepOver(kube);
    kube.failNext('mergePatch', 'Conflict');
    await sweep.start();
    expect(deployment(kube).spec.paused).toBe(true);
    expect(events).toEqual([]);
    sweep.onEvent('update', deployment(kube));
    await sweep.idle();
    expect(deployment(kube).spec.paused).toBe(false);
  });

  it('a policy re-created under the same name is not swept (it adopts its Deployment itself)', async () => {
    const kube = new FakeKube(
      marked((d) => {
        midRelease(d);
        d.metadata.generation = 3;
      }),
    );
    const { sweep, events } = sweepOver(kube);
    await sweep.start(); // found gone, waiting for the status
    kube.seed(policy('web'));
    sweep.onEvent('add', policy('web'));
    kube.mutate<Deployment>(ref, (d) => {
      d.status = { ...d.status, observedGeneration: 3 };
    });
    sweep.onEvent('update', deployment(kube));
    await sweep.idle();
    expect(deployment(kube).metadata.labels?.[MANAGED_LABEL]).toBe('true');
    expect(events).toEqual([]);
  });

  it('a pause answered after its policy left the cache (deleted as it was adopted) is handed back within the minute', async () => {
    let clock = 0;
    const unmarked = unadoptedDeployment(3);
    const kube = new FakeKube(unmarked, policy('web'));
    const { sweep, events } = sweepOver(kube, [], () => clock);
    await sweep.start();
    kube.remove({ apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' });
    sweep.onEvent('delete', policy('web')); // nothing marked yet: the pause is still on its way
    await sweep.idle();
    kube.seed(marked());
    clock = 30_000;
    sweep.onEvent('update', deployment(kube));
    await sweep.idle();
    expect(deployment(kube).spec.paused).toBe(false);
    expect(events).toEqual([{ name: 'Deployment/web', type: 'Normal', reason: 'Released' }]);
  });

  it('a Deployment marked long after its policy left is not looked at on every change (another shard may own it)', async () => {
    let clock = 0;
    const kube = new FakeKube(unadoptedDeployment(3), policy('web'));
    const { sweep, asked } = sweepOver(kube, [`${NS}/web`], () => clock);
    await sweep.start();
    kube.remove({ apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' });
    sweep.onEvent('delete', policy('web'));
    await sweep.idle();
    kube.seed(marked());
    clock = 61_000;
    sweep.onEvent('update', deployment(kube));
    await sweep.idle();
    expect(asked).toEqual([]);
    expect(deployment(kube).spec.paused).toBe(true);
  });

  it('over the watch caches: a policy deleted looks only at the Deployments it marked, and asks once', async () => {
    const api = marked((d) => {
      d.metadata.name = 'api';
      d.metadata.uid = 'uid-deploy-api';
      d.metadata.annotations = { ...d.metadata.annotations, [OWNER_POLICY]: `${NS}/api` };
    });
    const live = new StatusKube(marked(), api, policy('api'));
    const store = new ObjectStore();
    for (const object of live.all()) store.put(trimForCache(structuredClone(object), object.apiVersion, object.kind));
    const liveReads: string[] = [];
    const cached = new CachedKubeApi(live, store, {
      synced: () => true,
      onLiveRead: (verb, kind, reason) => liveReads.push(`${verb} ${kind} ${reason}`),
    });
    const events: string[] = [];
    const sweep = orphanSweepOver(
      cached,
      { record: async (about, _type, reason) => void events.push(`${about.name}:${reason}`) },
      { info: () => {}, warn: () => {}, error: () => {} },
    );
    sweep.onEvent('delete', policy('web')); // before start: start looks at everything
    await sweep.start();
    expect(events).toEqual(['web:Released']);
    expect(liveReads).toEqual(['get CanaryPolicy orphan']);
    expect(live.peek<Deployment>({ ...ref, name: 'api' })?.spec.paused).toBe(true);
    live.remove(policyRefOf('api'));
    store.remove('CanaryPolicy', NS, 'api');
    sweep.onEvent('delete', policy('api'));
    await sweep.idle();
    expect(events).toEqual(['web:Released', 'api:Released']);
    expect(liveReads).toEqual(['get CanaryPolicy orphan', 'get CanaryPolicy orphan']);
  });
});
