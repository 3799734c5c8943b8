export const ENTRA_AUDIENCES_SETTING = 'WEBHOOKS_ENTRA_AUDIENCES';

/** An Entra audience webhooks may ask a delivery token for, and the only origins (normalised) its tokens may go to. */
export interface EntraAudience {
  audience: string;
  origins: string[];
}

/** `api://x` and `https://x/` become the scope `api://x/.default` and `https://x/.default`; a `/.default` scope stays. */
export const scopeOfAudience = (audience: string): string => (audience.endsWith('/.default') ? audience : `${audience.replace(/\/+$/, '')}/.default`);

/** Spellings that ask the delivery identity for the same token (scope form, trailing slash, letter case) are one audience. */
export const audienceKey = (audience: string): string => scopeOfAudience(audience).toLowerCase();

/** The origins tokens for `audience` may be sent to; none when it is not listed. */
export const originsOfAudience = (audiences: readonly EntraAudience[], audience: string): readonly string[] =>
  audiences.find((listed) => audienceKey(listed.audience) === audienceKey(audience))?.origins ?? [];

/** Why tokens for `audience` may not go to `origin` (a normalised origin); undefined when they may. */
export function whyAudienceRefused(audiences: readonly EntraAudience[], audience: string, origin: string): string | undefined {
  const origins = originsOfAudience(audiences, audience);
  if (origins.includes(origin)) return undefined;
  if (origins.length > 0) return `tokens for '${audience}' may be sent only to ${origins.join(', ')}, not to ${origin} (the origins ${ENTRA_AUDIENCES_SETTING} lists for it)`;
  const listed = audiences.map((each) => `${each.audience} (to ${each.origins.join(', ')})`).join('; ');
  return `'${audience}' is not an audience tokens may be sent for; allowed: ${listed || `none (an admin lists them in ${ENTRA_AUDIENCES_SETTING})`}`;
}
