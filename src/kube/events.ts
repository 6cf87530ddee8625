// Kubernetes Events on the objects canaryd touches, so `kubectl describe` and event dashboards
// show every transition and manual operation with a reason a person can filter on. Like
// client-go's recorder, the same object, type, reason and message again is one Event whose count
// and lastTimestamp are patched, not a new Event (a retried failure does not flood the namespace).
import { randomBytes } from 'node:crypto';
import { isKubeError, type KubeApi } from './api.ts';
import type { KubeObject, ObjectRef } from './objects.ts';

export interface EventRecorder {
  record(
    about: ObjectRef & { uid?: string },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
}

/** How many distinct Events are remembered for aggregation (client-go's cache holds 4096). */
const REMEMBERED = 4096;

export class KubeEventRecorder implements EventRecorder {
  readonly #kube: KubeApi;
  readonly #component: string;
  /** Least recently recorded first (a Map keeps insertion order). */
  readonly #recorded = new Map<string, Recorded>();

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
    const text = message.length > 1000 ? `${message.slice(0, 997)}...` : message;
    const key = JSON.stringify([
      about.apiVersion,
      about.kind,
      about.namespace,
      about.name,
      about.uid,
      type,
      reason,
      text,
    ]);
    const seen = this.#recorded.get(key);
    if (seen !== undefined) {
      this.#recorded.delete(key);
      try {
        await this.#kube.mergePatch(
          { apiVersion: 'v1', kind: 'Event', namespace: seen.namespace, name: seen.name },
          { count: seen.count + 1, lastTimestamp: now },
        );
        this.#recorded.set(key, { ...seen, count: seen.count + 1 });
        return;
      } catch (error) {
        // Expired (Events live an hour): record it anew.
        if (!isKubeError(error, 'NotFound')) throw error;
      }
    }
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
      message: text,
      type,
      source: { component: this.#component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await this.#kube.create(event);
    this.#recorded.set(key, { name: event.metadata.name, namespace: event.metadata.namespace ?? 'default', count: 1 });
    if (this.#recorded.size > REMEMBERED) this.#recorded.delete(this.#recorded.keys().next().value as string);
  }
}
