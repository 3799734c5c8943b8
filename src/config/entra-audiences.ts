import { ConfigError } from '../shared/errors.js';
import { audienceKey, ENTRA_AUDIENCES_SETTING, type EntraAudience } from '../shared/entra-audiences.js';

const EXPECTED_FORM = `a comma list of entries '<audience> <origin> [<origin> ...]', e.g. 'api://orders https://orders.contoso.com, api://billing https://billing.contoso.com:8443'`;

/** `https://host[:port]` or `http://host[:port]` and nothing else, as `URL.origin` spells it; undefined otherwise. */
function originOfSetting(raw: string): string | undefined {
  if (/[?#@*\\]/.test(raw) || !URL.canParse(raw)) return undefined;
  const url = new URL(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return undefined;
  return url.origin;
}

/** Parses `WEBHOOKS_ENTRA_AUDIENCES`; an audience listed in several entries gets the origins of all of them. */
export function parseEntraAudiences(setting: string): EntraAudience[] {
  const byKey = new Map<string, EntraAudience>();
  for (const entry of setting.split(',')) {
    const [audience, ...rawOrigins] = entry.trim().split(/\s+/).filter((word) => word !== '');
    if (audience === undefined) continue;
    if (!/^[\x21-\x7e]{1,256}$/.test(audience)) {
      throw new ConfigError(`${ENTRA_AUDIENCES_SETTING}: '${audience.slice(0, 80)}' is not an audience (an application ID URI or client id); expected ${EXPECTED_FORM}`, ENTRA_AUDIENCES_SETTING);
    }
    if (rawOrigins.length === 0) {
      throw new ConfigError(`${ENTRA_AUDIENCES_SETTING}: audience '${audience}' names no origin its tokens may be sent to; expected ${EXPECTED_FORM}`, ENTRA_AUDIENCES_SETTING);
    }
    const listed = byKey.get(audienceKey(audience)) ?? { audience, origins: [] };
    for (const raw of rawOrigins) {
      const origin = originOfSetting(raw);
      if (origin === undefined) {
        throw new ConfigError(`${ENTRA_AUDIENCES_SETTING}: '${raw.slice(0, 200)}' (for '${audience}') is not an origin (scheme, host and optional port only); expected ${EXPECTED_FORM}`, ENTRA_AUDIENCES_SETTING);
      }
      if (!listed.origins.includes(origin)) listed.origins.push(origin);
    }
    byKey.set(audienceKey(audience), listed);
  }
  return [...byKey.values()];
}

