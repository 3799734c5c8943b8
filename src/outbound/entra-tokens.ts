import { scopeOfAudience, whyAudienceRefused, type EntraAudience } from '../shared/entra-audiences.js';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { errorMessage } from '../shared/errors.js';
import type { Clock } from '../shared/ids.js';
import { TokenCache, type TokenAnswer } from './token-cache.js';

/**
 * Entra tokens for webhook endpoints, from the delivery identity (a user-assigned identity holding no roles, named
 * by its client id) and only for the audiences an admin allows, to the origins listed for each: checked again at
 * every attempt, so an audience or origin taken off the list gets no more tokens.
 */
export class EntraTokens {
  private readonly cache: TokenCache;
  private credential: TokenCredential | undefined;

  constructor(
    private readonly settings: { clientId: string; audiences: readonly EntraAudience[] } | undefined,
    clock: Clock,
    private readonly makeCredential: (clientId: string) => TokenCredential = (clientId) => new ManagedIdentityCredential({ clientId }),
  ) {
    this.cache = new TokenCache(clock);
  }

  /** A token for `audience`, if its tokens may go to `origin` (where the attempt is sent, normalised). */
  tokenFor(audience: string, origin: string): Promise<TokenAnswer> {
    const settings = this.settings;
    const refused = whyAudienceRefused(settings?.audiences ?? [], audience, origin);
    if (!settings || refused !== undefined) return Promise.resolve({ kind: 'error', error: `no Entra token: ${refused ?? 'no delivery identity'}`, retryable: false });
    return this.cache.get(audience, async () => {
      try {
        this.credential ??= this.makeCredential(settings.clientId);
        const token = await this.credential.getToken(scopeOfAudience(audience));
        if (!token) return { kind: 'error', error: `the delivery identity got no token for '${audience}'`, retryable: true };
        return { kind: 'token', token: token.token, expiresAt: token.expiresOnTimestamp };
      } catch (error) {
        return { kind: 'error', error: `the delivery identity could not get a token for '${audience}': ${errorMessage(error).split('\n')[0]?.slice(0, 300) ?? ''}`, retryable: true };
      }
    });
  }
}
