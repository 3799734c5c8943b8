const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Epoch milliseconds of an RFC 3339 timestamp with a zone (`2025-11-29T10:00:00Z`, or Python's
 * `datetime.isoformat()` with microseconds and `+00:00`, as MLflow sends it; Event Grid's seven fractional
 * digits), or null when it is not one. Fractions below a millisecond are dropped.
 */
export function parseTimestamp(text: string): number | null {
  const match = RFC3339.exec(text);
  if (!match) return null;
  const fraction = match[7] ?? '';
  const ms = Date.parse(`${text.slice(0, 19)}${fraction.slice(0, 4)}${match[8] ?? 'Z'}`);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}
