import type { Clock } from '../shared/ids.js';
import type { Metrics } from '../telemetry/metrics.js';

/** How often one unreadable webhook is logged and counted again by one instance, and how long a scan is reused. */
export const UNREADABLE_QUIET_MS = 60_000;

/**
 * Stored webhooks that cannot be read: reads skip and report them (logged and counted once a minute per webhook);
 * `ids()` reuses one scan for a minute, so health costs one scan a minute.
 */
export class UnreadableWebhooks {
  private readonly lastReported = new Map<string, number>();
  private scan: { at: number; ids: Promise<string[]> } | undefined;

  constructor(
    private readonly deps: { findUnreadable: () => Promise<string[]>; metrics: Pick<Metrics, 'webhookUnreadable'>; log: (message: string) => void; clock: Clock },
  ) {}

  readonly report = (webhookId: string, reason: string): void => {
    const now = this.deps.clock();
    const last = this.lastReported.get(webhookId);
    if (last !== undefined && now - last < UNREADABLE_QUIET_MS) return;
    this.lastReported.set(webhookId, now);
    this.deps.log(`webhook ${webhookId} cannot be read and is skipped (${reason}); every other webhook is still served`);
    this.deps.metrics.webhookUnreadable();
  };

  ids(): Promise<string[]> {
    const now = this.deps.clock();
    if (!this.scan || now - this.scan.at >= UNREADABLE_QUIET_MS) {
      const scan = { at: now, ids: this.deps.findUnreadable() };
      scan.ids.catch(() => {
        if (this.scan === scan) this.scan = undefined;
      });
      this.scan = scan;
    }
    return this.scan.ids;
  }
}
