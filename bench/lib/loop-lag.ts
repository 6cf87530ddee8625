// How long canaryd's event loop kept a due timer waiting, as canaryd itself measures it
// (prom-client's `nodejs_eventloop_lag_max_seconds`, from monitorEventLoopDelay, reset at every
// scrape): scraped every few seconds, the worst delay of each window kept. A window's value is
// lost if something else scrapes canaryd inside it, so this samples phases nothing else scrapes
// (adoption). A long delay is everything else waiting: watch events, API answers, Lease
// renewals, /healthz.
import { canarydMetrics, sumCounter } from './metrics.ts';

const METRIC = 'canaryd_nodejs_eventloop_lag_max_seconds';

export interface LoopLag {
  /** The worst delay of each window, ms, in order (one per replica per window). */
  windowsMaxMs: number[];
  maxMs: number;
  everyMs: number;
}

export function sampleLoopLag(bases: () => string[], everyMs = 5000) {
  const windowsMaxMs: number[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  const scrape = () =>
    Promise.all(
      bases().map(async (base) => {
        const text = await canarydMetrics(base).catch(() => null);
        if (text?.includes(METRIC)) windowsMaxMs.push(Math.round(sumCounter(text, METRIC) * 1000));
      }),
    ).then(() => undefined);
  const timer = setInterval(() => {
    inFlight = inFlight.then(scrape);
  }, everyMs);
  return {
    /** Scrapes once more (the last window) and reports. */
    async stop(): Promise<LoopLag> {
      clearInterval(timer);
      await inFlight;
      await scrape();
      return { windowsMaxMs, maxMs: Math.max(0, ...windowsMaxMs), everyMs };
    },
  };
}
