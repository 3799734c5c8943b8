/**
 * The Functions host wakes a queue listener at once when the app itself enqueues (rather than waiting for the
 * next poll). The local runtime listens here; in Azure nobody does, and polling (host.json) takes over.
 */
type Listener = (queue: string, delayMs: number) => void;
const listeners = new Set<Listener>();

export function onEnqueued(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function notifyEnqueued(queue: string, delayMs: number): void {
  for (const listener of listeners) listener(queue, delayMs);
}
