/**
 * The local runtime's `--wake-on-enqueue` wakes a queue listener when the app enqueues (the host does not: only its
 * own output bindings wake it). In Azure nobody listens here, and polling (host.json) takes over.
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
