// Events written in the background, as client-go's recorder does (a buffered broadcaster whose
// sink writes on its own): a reconcile hands its Events over and goes on, instead of waiting
// for one or two API round trips per Event before the next policy can be looked at. Events of
// one object keep their order; a bounded backlog drops (and reports) what a slow API server
// cannot take, as Events are best effort.

import type { EventRecorder } from './events.ts';
import type { ObjectRef } from './objects.ts';

interface Job {
  about: ObjectRef & { uid?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  object: string;
}

export interface BackgroundEventOptions {
  /** Events written at once (each object's own Events one at a time). */
  concurrency?: number;
  /** Events waiting beyond this are dropped (reported by onDrop). */
  maxPending?: number;
  onError?(error: Error, reason: string): void;
  onDrop?(reason: string): void;
}

export class BackgroundEventRecorder implements EventRecorder {
  readonly #inner: EventRecorder;
  readonly #concurrency: number;
  readonly #maxPending: number;
  readonly #options: BackgroundEventOptions;
  readonly #waiting: Job[] = [];
  /** Objects with an Event being written. */
  readonly #busy = new Set<string>();
  #idle: Array<() => void> = [];

  constructor(inner: EventRecorder, options: BackgroundEventOptions = {}) {
    this.#inner = inner;
    this.#concurrency = options.concurrency ?? 4;
    this.#maxPending = options.maxPending ?? 1000;
    this.#options = options;
  }

  /** Queues the Event and returns at once. */
  record(about: ObjectRef & { uid?: string }, type: 'Normal' | 'Warning', reason: string, message: string) {
    if (this.#waiting.length >= this.#maxPending) {
      this.#options.onDrop?.(reason);
      return Promise.resolve();
    }
    const object = `${about.kind}/${about.namespace ?? ''}/${about.name}`;
    this.#waiting.push({ about, type, reason, message, object });
    this.#pump();
    return Promise.resolve();
  }

  /** Events queued or being written. */
  get pending(): number {
    return this.#waiting.length + this.#busy.size;
  }

  /** Resolves once every queued Event has been written (or has failed): graceful shutdown, tests. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    for (let i = 0; i < this.#waiting.length && this.#busy.size < this.#concurrency; ) {
      const job = this.#waiting[i] as Job;
      if (this.#busy.has(job.object)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      this.#busy.add(job.object);
      void this.#write(job);
    }
  }

  async #write(job: Job): Promise<void> {
    try {
      await this.#inner.record(job.about, job.type, job.reason, job.message);
    } catch (error) {
      this.#options.onError?.(error instanceof Error ? error : new Error(String(error)), job.reason);
    }
    this.#busy.delete(job.object);
    this.#pump();
    if (this.pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}
