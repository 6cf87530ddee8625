// The pod runner as a kubelet: a pod is marked Ready only once its server listens, a deleted
// pod keeps answering for its grace period, and a new pod on a draining pod's address takes it over.
// Servers run in this process on 127.0.0.1 (InProcessPodHost) instead of the pods' namespace.
import type * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessPodHost } from '../../e2e/cluster/pod-host.ts';
import { PodRunner, readyStatusPatch } from '../../e2e/cluster/pod-runner.ts';
import { freePort } from '../../e2e/cluster/ports.ts';
import { waitFor } from '../../e2e/cluster/wait.ts';

// servingFor only serves pod IPs; CANARYD_POD_NETWORK=routed lets these tests use loopback.
process.env.CANARYD_POD_NETWORK = 'routed';

const demoPod = (name: string, port: number, extra: { deleting?: boolean; ready?: boolean } = {}): k8s.V1Pod => ({
  metadata: {
    name,
    namespace: 'shop',
    labels: { app: 'web' },
    deletionTimestamp: extra.deleting ? new Date() : undefined,
  },
  spec: {
    containers: [{ name: 'app', image: 'canaryd-demo:v1', ports: [{ containerPort: port }] }],
  },
  status: {
    phase: 'Running',
    podIP: '127.0.0.1',
    conditions: [{ type: 'Ready', status: extra.ready ? 'True' : 'False' }],
  },
});

const answers = async (port: number): Promise<string | null> => {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    return res.headers.get('x-demo-pod');
  } catch {
    return null;
  }
};

describe('pod runner', () => {
  let host: InProcessPodHost;
  let runner: PodRunner | undefined;
  afterEach(async () => {
    await runner?.stopAll();
    await host?.close();
  });

  it('marks a pod Ready only after its server answers', async () => {
    host = new InProcessPodHost();
    const port = await freePort();
    const listeningWhenMarked: Array<string | null> = [];
    runner = new PodRunner({
      host,
      log: () => {},
      markReady: async (pod) => {
        listeningWhenMarked.push(await answers(port));
        expect(pod.metadata?.name).toBe('web-1');
      },
    });
    await runner.reconcile(demoPod('web-1', port));
    expect(listeningWhenMarked).toEqual(['web-1']);
    // Already Ready: nothing to mark again.
    await runner.reconcile(demoPod('web-1', port, { ready: true }));
    expect(listeningWhenMarked).toHaveLength(1);
  });

  it('with ready-after-ms, marks the pod Ready that long after its server listens (an app warming up)', async () => {
    host = new InProcessPodHost();
    const port = await freePort();
    const marked: number[] = [];
    runner = new PodRunner({ host, log: () => {}, markReady: async () => void marked.push(Date.now()) });
    const pod = demoPod('web-1', port);
    pod.metadata!.annotations = { 'demo.canaryd.dev/ready-after-ms': '1500' };
    const started = Date.now();
    await runner.reconcile(pod);
    expect(await answers(port)).toBe('web-1');
    // Another event of the pod before its time does not make it Ready early.
    await runner.reconcile(pod);
    expect(marked).toEqual([]);
    await waitFor(async () => marked.length > 0, {
      timeoutMs: 10_000,
      intervalMs: 20,
      description: 'pod marked Ready',
    });
    expect(marked).toHaveLength(1);
    expect(marked[0]! - started).toBeGreaterThanOrEqual(1500);
  });

  it('keeps a deleted pod answering for its grace period, then stops it', async () => {
    host = new InProcessPodHost();
    const port = await freePort();
    runner = new PodRunner({ host, log: () => {}, markReady: async () => {}, graceMs: 400 });
    await runner.reconcile(demoPod('web-1', port, { ready: true }));
    await runner.reconcile(demoPod('web-1', port, { ready: true, deleting: true }));
    await runner.reconcile(demoPod('web-1', port, { ready: true, deleting: true }), true);
    expect(runner.running).toBe(0);
    expect(runner.draining).toBe(1);
    expect(await answers(port)).toBe('web-1');
    const deadline = Date.now() + 5000;
    while ((await answers(port)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await answers(port)).toBeNull();
    expect(runner.draining).toBe(0);
  });

  it('hands a draining pod address to a new pod at once', async () => {
    host = new InProcessPodHost();
    const port = await freePort();
    runner = new PodRunner({ host, log: () => {}, markReady: async () => {}, graceMs: 60_000 });
    await runner.reconcile(demoPod('web-1', port, { ready: true }));
    await runner.reconcile(demoPod('web-1', port, { deleting: true }), true);
    expect(await answers(port)).toBe('web-1');
    await runner.reconcile(demoPod('web-2', port));
    expect(await answers(port)).toBe('web-2');
    expect(runner.draining).toBe(0);
  });

  it('hands the address over without a gap: a request in flight finishes on the old pod, none is refused', async () => {
    // kwok frees a deleted pod's IP at once and gives it to the next pod, while that pod is still
    // within its grace period and proxies may still send to it. A kubelet would not reuse the
    // address before the old sandbox is gone; stopping the old server to start the new one cut
    // the requests in flight and refused new ones for a moment (a 502 through Traefik).
    host = new InProcessPodHost();
    const port = await freePort();
    runner = new PodRunner({ host, log: () => {}, markReady: async () => {}, graceMs: 60_000 });
    const slow = { 'demo.canaryd.dev/latency-ms': '300' };
    const withAnnotations = (pod: k8s.V1Pod, annotations: Record<string, string>) => ({
      ...pod,
      metadata: { ...pod.metadata, annotations },
    });
    await runner.reconcile(withAnnotations(demoPod('web-1', port, { ready: true }), slow));
    const inFlight = answers(port);
    await new Promise((resolve) => setTimeout(resolve, 50));
    let stop = false;
    const during: Array<string | null> = [];
    const hammer = (async () => {
      while (!stop) during.push(await answers(port));
    })();
    await runner.reconcile(demoPod('web-1', port, { deleting: true }), true);
    await runner.reconcile(demoPod('web-2', port));
    expect(await answers(port)).toBe('web-2');
    stop = true;
    await hammer;
    expect(await inFlight).toBe('web-1');
    expect(during.filter((pod) => pod === null)).toEqual([]);
    expect(runner.draining).toBe(0);
  });

  it('builds a status patch that sets Ready and ContainersReady and every container ready', () => {
    const patch = readyStatusPatch(demoPod('web-1', 8080), new Date('2026-12-01T00:00:00Z')) as {
      status: { conditions: Array<{ type: string; status: string }>; containerStatuses: Array<{ ready: boolean }> };
    };
    expect(patch.status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['ContainersReady=True', 'Ready=True']);
    expect(patch.status.containerStatuses).toEqual([expect.objectContaining({ name: 'app', ready: true })]);
  });
});
