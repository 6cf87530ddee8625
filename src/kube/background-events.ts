// Events written in the background, as client-go's recorder does (a buffered broadcaster whose
// sink writes on its own): a reconcile hands its Events over and goes on, instead of waiting
// for one or two API round trips per Event before the next policy can be looked at. Events of
// one object keep their order; a bounded backlog drops (and reports) what a slow API server
// cannot take, as Events are best effort.
//
// One at a time, as client-go's sink writes them, and Warnings before Normal Events (an object's
// own Events still in order): Events must not take the API server from the writes that are
// canaryd's state. At 1,000 policies adopted at once, four Event writes in flight beside the
// adoptions took part of the API server's only core and still dropped 373 of the 2,000 `Adopted`
// Events (backlog 1,000); one at a time with a backlog of 5,000, all 1,000 were adopted 2.3 s
// sooner and none was dropped (docs/scale.md, "Where adoption's time goes").

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
  /** Events written at once (each object's own Events one at a time). Default 1. */
  concurrency?: number;
  /** Events waiting beyond this are dropped (reported by onDrop). Default 5,000. */
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
  /** Warnings among the waiting. */
  #warnings = 0;
  #idle: Array<() => void> = [];

  constructor(inner: EventRecorder, options: BackgroundEventOptions = {}) {
    this.#inner = inner;
    this.#concurrency = options.concurrency ?? 1;
    this.#maxPending = options.maxPending ?? 5000;
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
    if (type === 'Warning') this.#warnings++;
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
    while (this.#busy.size < this.#concurrency) {
      const warning = this.#warnings > 0 ? this.#next('Warning') : -1;
      const chosen = warning >= 0 ? warning : this.#next(undefined);
      if (chosen < 0) return;
      const [job] = this.#waiting.splice(chosen, 1) as [Job];
      if (job.type === 'Warning') this.#warnings--;
      this.#busy.add(job.object);
      void this.#write(job);
    }
  }

  /** The first waiting Event (of `type`) whose object has nothing written or waiting before it; -1: none. */
  #next(type: Job['type'] | undefined): number {
    const before = new Set<string>();
    for (let i = 0; i < this.#waiting.length; i++) {
      const job = this.#waiting[i] as Job;
      if ((type === undefined || job.type === type) && !this.#busy.has(job.object) && !before.has(job.object)) return i;
      before.add(job.object);
    }
    return -1;
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
