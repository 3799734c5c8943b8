/** `disable`: a 410 Gone disabled the webhook; `AUTO_DISABLED`: it failed for WEBHOOKS_AUTO_DISABLE_AFTER. */
export type AuditAction = 'create' | 'update' | 'delete' | 'test' | 'deliver' | 'redeliver' | 'disable' | 'AUTO_DISABLED';

/** One audited act. It names the target (URL or job) but never holds a secret, token or authorization value. */
export interface AuditEntry {
  timestamp: number;
  principal: string;
  /** The grant that allowed the action (`manager[fraud-*] (WEBHOOKS_AUTH_TOKENS)`), for actions a principal asked for. */
  grant?: string;
  action: AuditAction;
  webhookId: string;
  target: Record<string, string | boolean>;
  details?: Record<string, string | number | boolean>;
}

export interface AuditLog {
  append(entries: readonly AuditEntry[]): Promise<void>;
}
