const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch ms of an RFC 3339 timestamp with a zone (Python's `isoformat()`, Event Grid's 7 digits too), or null. */
export function parseTimestamp(text: string): number | null {
  const match = RFC3339.exec(text);
  if (!match) return null;
  // Date.parse rolls impossible dates over (Feb 30 becomes Mar 2, 24:00 the next day): refuse them instead.
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const zone = /^[+-](\d{2}):(\d{2})$/.exec(match[8] ?? '');
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null;
  if (zone && (Number(zone[1]) > 23 || Number(zone[2]) > 59)) return null;
  const fraction = match[7] ?? '';
  const ms = Date.parse(`${text.slice(0, 19)}${fraction.slice(0, 4)}${match[8] ?? 'Z'}`);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}
