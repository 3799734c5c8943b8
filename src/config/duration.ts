import { ConfigError } from '../shared/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A hundred years. */
const MAX_DURATION_MS = 36_500 * 86_400_000;

/** Parses `250ms`, `5s`, `5m`, `2h`, `30d` (and `1.5h`) into milliseconds. */
export function parseDuration(text: string, setting: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match?.[1] || !match[2]) {
    throw new ConfigError(`${setting}: '${text}' is not a duration; use a number with ms, s, m, h or d (for example 15s)`, setting);
  }
  const ms = Math.round(Number(match[1]) * (UNIT_MS[match[2]] ?? 1));
  // Longer would put a cutoff (now minus a retention) outside what a Date can hold.
  if (!(ms <= MAX_DURATION_MS)) throw new ConfigError(`${setting}: '${text}' is too long; use at most 36500d`, setting);
  if (ms === 0 && Number(match[1]) > 0) throw new ConfigError(`${setting}: '${text}' is shorter than 1ms; use 0 for none`, setting);
  return ms;
}

/** Parses a host.json TimeSpan (`00:00:02`, `1.00:00:00`) or a number of milliseconds. */
export function parseTimeSpan(value: unknown, fallbackMs: number): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return fallbackMs;
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(value.trim());
  if (!match) return fallbackMs;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = '0'] = match;
  return (
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction}`) * 1000)
  );
}
