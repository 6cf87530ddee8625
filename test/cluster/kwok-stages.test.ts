// The kwok stages of the local cluster: demo pods start unready (the pod runner makes them
// Ready once they listen), other pods become Ready at once, never-ready pods stay Pending.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { podReadyStages } from '../../e2e/cluster/kwok-stages.ts';

// A copy of kwok v0.8.0's kustomize/stage/pod/fast/pod-ready.yaml.
const POD_READY = readFileSync(new URL('../fixtures/kwok-pod-ready.yaml', import.meta.url), 'utf8');

describe('kwok stages', () => {
  const { ready, startDemo } = podReadyStages(POD_READY);

  it('keeps the ready stage for pods that are not demo pods nor never-ready', () => {
    expect(ready).toContain('name: pod-ready\n');
    expect(ready).toContain(`.metadata.labels["demo.canaryd.dev/never-ready"]'\n      operator: 'DoesNotExist'`);
    expect(ready).toContain(`test("canaryd-demo(:|$)")) | .name'\n      operator: 'DoesNotExist'`);
    expect(ready).toContain('status: "True"\n        type: Ready');
  });

  it('starts demo pods running with their pod IP but not Ready', () => {
    expect(startDemo).toContain('name: pod-start-demo\n');
    expect(startDemo).toContain(`test("canaryd-demo(:|$)")) | .name'\n      operator: 'Exists'`);
    expect(startDemo).toContain('status: "False"\n        type: Ready');
    expect(startDemo).toContain('status: "False"\n        type: ContainersReady');
    expect(startDemo).not.toContain('ready: true\n        restartCount: 0\n        state:\n          running:');
    expect(startDemo).toContain('podIP:');
    expect(startDemo).toContain('phase: Running');
  });

  it('refuses a stage layout it does not know instead of running pods it cannot gate', () => {
    expect(() => podReadyStages('kind: Stage\nmetadata:\n  name: pod-ready\n')).toThrow(/unexpected kwok pod-ready/);
  });
});
