// Reloads a policy directory when it changes. Works with a mounted ConfigMap, where the kubelet
// swaps a `..data` symlink instead of writing files: any event in the directory triggers a
// debounced reload of the whole directory.
import { type FSWatcher, watch } from 'node:fs';
import { loadPolicyFiles, type PolicyLoad } from './load.ts';

export interface PolicyWatchOptions {
  /** Called with every reload, the first one included. */
  onLoad: (load: PolicyLoad) => void;
  /** Called when the directory cannot be watched or a reload fails unexpectedly. */
  onError?: (error: Error) => void;
  debounceMs?: number;
  /** Test seams. */
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export interface PolicyWatch {
  close(): void;
}

export function watchPolicyDirectory(directory: string, options: PolicyWatchOptions): PolicyWatch {
  const debounceMs = options.debounceMs ?? 200;
  const setTimer = options.setTimer ?? ((callback: () => void, ms: number) => setTimeout(callback, ms));
  const clearTimer = options.clearTimer ?? ((timer: unknown) => clearTimeout(timer as NodeJS.Timeout));
  const onError = options.onError ?? (() => {});
  let timer: unknown;
  let closed = false;
  let again = false;
  let loading = false;

  const reload = () => {
    if (closed) return;
    if (loading) {
      // A change during a reload: reload once more when this one is done.
      again = true;
      return;
    }
    loading = true;
    void loadPolicyFiles(directory)
      .then((load) => {
        if (!closed) options.onLoad(load);
      })
      .catch((cause: unknown) => onError(cause instanceof Error ? cause : new Error(String(cause))))
      .finally(() => {
        loading = false;
        if (again) {
          again = false;
          reload();
        }
      });
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(directory, { persistent: false }, () => {
      if (timer !== undefined) clearTimer(timer);
      timer = setTimer(() => {
        timer = undefined;
        reload();
      }, debounceMs);
    });
    watcher.on('error', (error) => onError(error));
  } catch (cause) {
    onError(cause instanceof Error ? cause : new Error(String(cause)));
  }
  reload();

  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimer(timer);
      watcher?.close();
    },
  };
}
