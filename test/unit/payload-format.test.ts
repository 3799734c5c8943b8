import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPayload } from '../../src/outbound/payload.js';
import { renderBody } from '../../src/outbound/payload-format.js';
import { PAYLOAD_FORMATS } from '../../src/webhooks/webhook.js';

const payload = JSON.stringify({ event: 'MODEL_VERSION_CREATED', webhook_id: 'w', event_timestamp: 1, model_name: 'M', version: '1', text: 'A new version 1 of M.' });

describe('payload formats', () => {
  it('databricks (and no format) send the payload as it is', () => {
    assert.equal(renderBody(undefined, payload, 'd').body, payload);
    assert.equal(renderBody('databricks', payload, 'd').body, payload);
  });

  it('every format renders the same bytes for the same payload and delivery id, so retries are identical', () => {
    for (const format of PAYLOAD_FORMATS) assert.equal(renderBody(format, payload, 'd1').body, renderBody(format, payload, 'd1').body, format);
  });

  it('github_dispatch keeps client_payload within 10 top-level properties', () => {
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, i]).concat([['event', 'E']])));
    const body = JSON.parse(renderBody('github_dispatch', wide, 'd').body) as { event_type: string; client_payload: Record<string, unknown> };
    assert.equal(Object.keys(body.client_payload).length, 10);
    assert.deepEqual(body.client_payload.more, { k9: 9, k10: 10, k11: 11, event: 'E' });
    assert.equal(body.event_type, 'E');
  });

  it('slack escapes what it inserts and links only https URLs', () => {
    const hostile = JSON.stringify({ event: 'E', model_name: '<!channel> & co', url: 'javascript:alert(1)', event_timestamp: 1 });
    const body = renderBody('slack', hostile, 'd').body;
    assert.ok(!body.includes('<!channel>'));
    assert.ok(!body.includes('javascript:'));
    const linked = JSON.parse(renderBody('slack', JSON.stringify({ event: 'E', model_name: 'M', url: 'https://registry.example/m/1', event_timestamp: 1 }), 'd').body) as { blocks: { type: string }[] };
    assert.equal(linked.blocks.at(-1)?.type, 'actions');
  });

  it("slack: a publisher's own text pings no one and forges no link, and the service's escaped sentence is not escaped twice", () => {
    const published = buildPayload(
      { eventId: 'e', idSupplied: false, event: 'MODEL_VERSION_CREATED', modelName: 'M', version: '1', eventTimestamp: 1, publishedBy: 'p', text: '<!channel> deploy now: <https://evil.example/|the release notes> & more' },
      'w',
      'MODEL_VERSION_CREATED',
    );
    const slack = JSON.parse(renderBody('slack', published, 'd').body) as { text: string; blocks: { text?: { text: string } }[] };
    for (const shown of [slack.text, slack.blocks[0]?.text?.text ?? '']) {
      assert.ok(!/<[!@#]|<https?:/.test(shown), shown);
      assert.match(shown, /&lt;!channel&gt; deploy now: &lt;https:\/\/evil\.example\/\|the release notes&gt; & more/);
    }
    const own = buildPayload({ eventId: 'e', idSupplied: false, event: 'MODEL_VERSION_CREATED', modelName: '<a> & b', version: '1', eventTimestamp: 1, publishedBy: 'p' }, 'w', 'MODEL_VERSION_CREATED');
    assert.equal((JSON.parse(renderBody('slack', own, 'd').body) as { text: string }).text, "A new version 1 of registered model '&lt;a&gt; &amp; b' was created.");
  });

  it('teams: a model name, comment or text cannot forge a link in the card (its markdown links are broken up)', () => {
    const forged = '[Approve the release](https://evil.example/login)';
    const published = buildPayload(
      { eventId: 'e', idSupplied: false, event: 'COMMENT_CREATED', modelName: forged, version: '1', eventTimestamp: 1, publishedBy: 'p', comment: forged, text: `see ${forged}` },
      'w',
      'COMMENT_CREATED',
    );
    const card = (JSON.parse(renderBody('teams', published, 'd').body) as { attachments: { content: { body: Record<string, unknown>[] } }[] }).attachments[0]?.content;
    const shown = JSON.stringify(card?.body);
    assert.ok(!shown.includes(']('), shown);
    assert.match(shown, /Approve the release/, 'the words are still shown');
  });
});
