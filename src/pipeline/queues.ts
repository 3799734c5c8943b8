/** JSON messages on a queue, as the Functions host's queue triggers read them. */
export interface MessageQueue {
  /** Answers the queue's id of the new message. */
  send(message: unknown, delayMs?: number): Promise<string>;
  /** Sends text as it is, e.g. an unreadable message moved to a poison queue. */
  sendText(text: string, delayMs?: number): Promise<string>;
  /** Sends a message hidden for `holdMs`: the sender works it itself and removes it, or it surfaces for the trigger. */
  sendHeld(message: unknown, holdMs: number): Promise<HeldMessage>;
}

export interface HeldMessage {
  id: string;
  /** When the queue took it (ms), as the trigger's `insertionTime` will say. */
  insertedAt: number;
  text: string;
  /** Keeps it hidden `holdMs` longer, as the host renews the lease of a message its function is still working. */
  extend(holdMs: number): Promise<void>;
  remove(): Promise<void>;
}

/** The queues an event travels through; the function table binds a trigger to each. */
export const QUEUES = {
  registryEvents: 'registry-events',
  deliveries: 'webhook-deliveries',
  /** Azure Machine Learning's events, as Event Grid writes them (docs/sources.md). */
  azureMlEvents: 'azureml-events',
} as const;

/** The Functions host moves a message that failed `maxDequeueCount` times to `<queue>-poison`. */
export const poisonQueueOf = (queue: string): string => `${queue}-poison`;
