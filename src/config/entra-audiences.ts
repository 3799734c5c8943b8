import { ConfigError } from '../shared/errors.js';

export const ENTRA_AUDIENCES_SETTING = 'WEBHOOKS_ENTRA_AUDIENCES';

/** An Entra audience webhooks may ask a delivery token for, and the only origins (normalised) its tokens may go to. */
export interface EntraAudience {
  audience: string;
  origins: string[];
}

const EXPECTED_FORM = `a comma list of entries '<audience> <origin> [<origin> ...]', e.g. 'api://orders https://orders.contoso.com, api://billing https://billing.contoso.com:8443'`;

/** `api://x` and `https://x/` become the scope `api://x/.default` and `https://x/.default`; a `/.default` scope stays. */
export const scopeOfAudience = (audience: string): string => (audience.endsWith('/.default') ? audience : `${audience.replace(/\/+$/, '')}/.default`);

/** Spellings that ask the delivery identity for the same token (scope form, trailing slash, letter case) are one audience. */
const keyOf = (audience: string): string => scopeOfAudience(audience).toLowerCase();

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
    const listed = byKey.get(keyOf(audience)) ?? { audience, origins: [] };
    for (const raw of rawOrigins) {
      const origin = originOfSetting(raw);
      if (origin === undefined) {
        throw new ConfigError(`${ENTRA_AUDIENCES_SETTING}: '${raw.slice(0, 200)}' (for '${audience}') is not an origin (scheme, host and optional port only); expected ${EXPECTED_FORM}`, ENTRA_AUDIENCES_SETTING);
      }
      if (!listed.origins.includes(origin)) listed.origins.push(origin);
    }
    byKey.set(keyOf(audience), listed);
  }
  return [...byKey.values()];
}

/** The origins tokens for `audience` may be sent to; none when it is not listed. */
export const originsOfAudience = (audiences: readonly EntraAudience[], audience: string): readonly string[] =>
  audiences.find((listed) => keyOf(listed.audience) === keyOf(audience))?.origins ?? [];

/** Why tokens for `audience` may not go to `origin` (a normalised origin); undefined when they may. */
export function whyAudienceRefused(audiences: readonly EntraAudience[], audience: string, origin: string): string | undefined {
  const origins = originsOfAudience(audiences, audience);
  if (origins.includes(origin)) return undefined;
  if (origins.length > 0) return `tokens for '${audience}' may be sent only to ${origins.join(', ')}, not to ${origin} (the origins ${ENTRA_AUDIENCES_SETTING} lists for it)`;
  const listed = audiences.map((each) => `${each.audience} (to ${each.origins.join(', ')})`).join('; ');
  return `'${audience}' is not an audience tokens may be sent for; allowed: ${listed || `none (an admin lists them in ${ENTRA_AUDIENCES_SETTING})`}`;
}
