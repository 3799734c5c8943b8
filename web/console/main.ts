import { html, render } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { setTokenSource } from './api.js';
import { link, useRoute } from './router.js';
import { loadSignInConfig, relayFrameResponse, SIGN_IN_EXPIRED, signOut, startEntra, storedTokenSession, type Session } from './session.js';
import { DeliveryDetail } from './views/delivery-detail.js';
import { EventCatalog } from './views/event-catalog.js';
import { Overview } from './views/overview.js';
import { SignIn } from './views/sign-in.js';
import { WebhookDetail } from './views/webhook-detail.js';
import { WebhookForm } from './views/webhook-form.js';
import { WebhookList } from './views/webhook-list.js';

function App({ initial, entra }: { initial: Session | null; entra: boolean }): VNode {
  const [session, setSession] = useState<Session | null>(initial);
  const [notice, setNotice] = useState<string | undefined>();
  const route = useRoute();

  const end = (message?: string) => {
    void signOut();
    setTokenSource(undefined, () => undefined);
    setNotice(message);
    setSession(null);
  };
  if (session) {
    setTokenSource(
      () => session.token(),
      (failure) => end(failure.code === SIGN_IN_EXPIRED ? `You were signed out: ${failure.message}. Sign in again.` : `You were signed out: the service refused the token (${failure.message}).`),
    );
  }

  if (!session) return html`<${SignIn} entra=${entra} notice=${notice} onSignedIn=${(next: Session) => { setNotice(undefined); setSession(next); }} />`;

  const [section, id, action] = route.path;
  let view: VNode;
  if (section === 'webhooks' && id === 'new') view = html`<${WebhookForm} key="new" />`;
  else if (section === 'webhooks' && id && action === 'edit') view = html`<${WebhookForm} key=${`edit-${id}`} id=${id} />`;
  else if (section === 'webhooks' && id) view = html`<${WebhookDetail} key=${id} id=${id} route=${route} />`;
  else if (section === 'deliveries' && id) view = html`<${DeliveryDetail} key=${id} id=${id} />`;
  else if (section === 'events') view = html`<${EventCatalog} />`;
  else if (section === 'webhooks') view = html`<${WebhookList} key=${route.query.toString()} route=${route} />`;
  else view = html`<${Overview} />`;

  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="top">
      <a class="brand" href=${link([])}>Registry webhooks</a>
      <nav aria-label="Main">
        <a href=${link([])} aria-current=${section === undefined || section === 'overview' ? 'page' : undefined}>Overview</a>
        <a href=${link(['webhooks'])} aria-current=${section !== 'webhooks' || id ? undefined : 'page'}>Webhooks</a>
        <a href=${link(['webhooks', 'new'])} aria-current=${id === 'new' ? 'page' : undefined}>New webhook</a>
        <a href=${link(['events'])} aria-current=${section === 'events' ? 'page' : undefined}>Events</a>
      </nav>
      <span class="who">Signed in with ${session.label}</span>
      <button type="button" class="secondary" onClick=${() => end('You signed out.')}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">${view}</main>
  `;
}

async function start(): Promise<void> {
  const root = document.getElementById('app');
  if (!root || (await relayFrameResponse())) return;
  let entraConfigured = false;
  let session = storedTokenSession();
  try {
    const config = await loadSignInConfig();
    if (config) {
      entraConfigured = true;
      session = (await startEntra(config)) ?? session;
    }
  } catch (error) {
    console.warn('Entra ID sign-in is unavailable', error);
  }
  root.replaceChildren();
  render(html`<${App} initial=${session} entra=${entraConfigured} />`, root);
}

void start();
