// Watches the config directory so that editing a file directly is picked up (debounced).
import { type FSWatcher, watch } from 'node:fs';
import { isTempName } from './persist.ts';

/** Calls `onChange` once things settle after YAML files in `dir` change. Returns a stop function. */
export function watchConfigDir(dir: string, onChange: () => void, debounceMs = 150): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  };
  watcher = watch(dir, { persistent: false }, (_event, filename) => {
    const name = filename?.toString();
    if (name && (isTempName(name) || !/\.ya?ml$/i.test(name))) return;
    schedule();
  });
  watcher.on('error', () => {
    // The directory went away or cannot be watched; keep serving what we have.
  });
  return () => {
    if (timer) clearTimeout(timer);
    watcher?.close();
    watcher = undefined;
  };
}
