// kwok v0.8 ships no default stages: the local cluster uses the module's "fast" ones, changed so
// that kwok plays only the parts of a kubelet the pod runner does not:
//   - pods labelled `demo.canaryd.dev/never-ready: "true"` stay Pending (a canary that never
//     becomes ready);
//   - demo pods (image canaryd-demo[:tag]) get their pod IP and phase Running but stay
//     Ready=False: the pod runner marks them Ready once their server listens (pod-runner.ts);
//   - every other pod becomes Ready at once, as before.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];

const DELETION_MARKER = "    - key: '.metadata.deletionTimestamp'\n      operator: 'DoesNotExist'\n";
const NEVER_READY = `    - key: '.metadata.labels["demo.canaryd.dev/never-ready"]'\n      operator: 'DoesNotExist'\n`;
/** A jq query kwok evaluates: non-empty for a pod with a demo container. */
const DEMO_CONTAINER = `.spec.containers.[] | select(.image | test("canaryd-demo(:|$)")) | .name`;
const demoSelector = (operator: 'Exists' | 'DoesNotExist') =>
  `    - key: '${DEMO_CONTAINER}'\n      operator: '${operator}'\n`;

const READY_TRUE = '        status: "True"\n        type: Ready\n';
const CONTAINERS_READY_TRUE = '        status: "True"\n        type: ContainersReady\n';
const CONTAINER_READY = '        ready: true\n        restartCount: 0\n        state:\n          running:';

/** Pure: the two pod-ready stages (other pods, demo pods) made from kwok's fast pod-ready stage. */
export function podReadyStages(podReady: string): { ready: string; startDemo: string } {
  for (const marker of [DELETION_MARKER, READY_TRUE, CONTAINERS_READY_TRUE, CONTAINER_READY, 'name: pod-ready\n']) {
    if (!podReady.includes(marker))
      throw new Error(`unexpected kwok pod-ready stage layout (no ${JSON.stringify(marker)})`);
  }
  const ready = podReady.replace(DELETION_MARKER, `${DELETION_MARKER}${NEVER_READY}${demoSelector('DoesNotExist')}`);
  const startDemo = podReady
    .replace('name: pod-ready\n', 'name: pod-start-demo\n')
    .replace(DELETION_MARKER, `${DELETION_MARKER}${NEVER_READY}${demoSelector('Exists')}`)
    .replace(READY_TRUE, READY_TRUE.replace('"True"', '"False"'))
    .replace(CONTAINERS_READY_TRUE, CONTAINERS_READY_TRUE.replace('"True"', '"False"'))
    .replace(CONTAINER_READY, CONTAINER_READY.replace('ready: true', 'ready: false'));
  return { ready, startDemo };
}

/** Writes the stage files the cluster's kwok runs with into `target`; returns their paths. */
export function writeStages(source: string, target: string): string[] {
  mkdirSync(target, { recursive: true });
  const out: string[] = [];
  const write = (name: string, text: string) => {
    const file = join(target, name);
    writeFileSync(file, text);
    out.push(file);
  };
  for (const relative of FILES) {
    const text = readFileSync(join(source, relative), 'utf8');
    if (relative.endsWith('pod-ready.yaml')) {
      const { ready, startDemo } = podReadyStages(text);
      write(relative.replaceAll('/', '_'), ready);
      write('pod_fast_pod-start-demo.yaml', startDemo);
    } else {
      write(relative.replaceAll('/', '_'), text);
    }
  }
  return out;
}
