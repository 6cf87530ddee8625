// Kubernetes Events on the objects canaryd touches, so `kubectl describe` and event dashboards
// show every transition and manual operation with a reason a person can filter on.
import { randomBytes } from 'node:crypto';
import type { KubeApi } from './api.ts';
import type { KubeObject, ObjectRef } from './objects.ts';

export interface EventRecorder {
  record(
    about: ObjectRef & { uid?: string },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

export class KubeEventRecorder implements EventRecorder {
  readonly #kube: KubeApi;
  readonly #component: string;

  constructor(kube: KubeApi, component = 'canaryd') {
    this.#kube = kube;
    this.#component = component;
  }

  async record(
    about: ObjectRef & { uid?: string },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${about.name}.${randomBytes(6).toString('hex')}`, namespace: about.namespace ?? 'default' },
      involvedObject: {
        apiVersion: about.apiVersion,
        kind: about.kind,
        namespace: about.namespace,
        name: about.name,
        uid: about.uid,
      },
      reason,
      // The API limits an Event message to 1 KiB of useful text in most tools; keep it readable.
      message: message.length > 1000 ? `${message.slice(0, 997)}...` : message,
      type,
      source: { component: this.#component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await this.#kube.create(event);
  }
}
