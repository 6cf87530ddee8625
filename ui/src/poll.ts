// Live updates: re-reads every `intervalMs` while the page shows; the ETag cache (api.ts) makes
// an unchanged answer a 304.
import { useEffect, useState } from 'preact/hooks';
import type { ApiRefusal } from './api.ts';

export interface Polled<T> {
  data?: T;
  error?: ApiRefusal | Error;
}

export function usePoll<T>(read: () => Promise<T>, intervalMs: number, key: string): Polled<T> {
  const [state, setState] = useState<Polled<T>>({});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({});
    const tick = async () => {
      try {
        const data = await read();
        if (!stopped) setState({ data });
      } catch (error) {
        if (!stopped) setState((previous) => ({ ...previous, error: error as Error }));
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key]);
  return state;
}
