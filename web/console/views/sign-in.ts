import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { ApiFailure } from '../api.js';
import { ErrorNote } from '../format.js';
import { signInWithEntra, signInWithToken, type Session } from '../session.js';

/** Paste a bearer token (checked against the API before it is kept), or sign in with Entra ID where configured. */
export function SignIn({ entra, notice, onSignedIn }: { entra: boolean; notice?: string; onSignedIn: (session: Session) => void }): VNode {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (token.trim() === '') {
      setError(new Error('Paste a bearer token first.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signInWithToken(token));
    } catch (failure) {
      setError(
        failure instanceof ApiFailure && failure.status === 401
          ? new ApiFailure(401, failure.code, `The service refused this token: ${failure.message}`)
          : failure,
      );
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main id="main" class="sign-in">
      <h1 tabindex="-1">Sign in</h1>
      <p>The console manages webhooks with your own rights: a manager sees and changes only webhooks of a model; an admin, every webhook.</p>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
      ${entra
        ? html`<p><button type="button" onClick=${() => signInWithEntra().catch((failure: unknown) => setError(failure))}>Sign in with Microsoft Entra ID</button></p>
            <p class="or">or</p>`
        : null}
      <form onSubmit=${submit}>
        <div class="field">
          <label for="token">Bearer token</label>
          <input id="token" name="token" type="password" autocomplete="off" value=${token} aria-describedby="token-hint"
            onInput=${(e: Event) => setToken((e.currentTarget as HTMLInputElement).value)} />
          <p class="hint" id="token-hint">Kept in this tab only (session storage) until you sign out or close it.</p>
        </div>
        <${ErrorNote} error=${error} />
        <button type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Sign in with token'}</button>
      </form>
    </main>
  `;
}
