import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { databricksSignature, deliveryHeaders, standardWebhooksSignature } from '../../src/outbound/sign-payload.js';

const body = JSON.stringify({ event: 'MODEL_VERSION_CREATED', model_name: 'ünïcödé 😀', text: 'x' });

describe('signing', () => {
  it("X-Databricks-Signature is what the doc's validate_signature computes", () => {
    // Python: hmac.new(secret.encode('utf-8'), body.encode('utf-8'), hashlib.sha256).hexdigest()
    const expected = createHmac('sha256', Buffer.from('anyRandomString', 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex');
    assert.equal(databricksSignature('anyRandomString', body), expected);
    assert.match(expected, /^[0-9a-f]{64}$/);
  });

  it('webhook-signature verifies with the standardwebhooks package, for whsec_ and plain secrets', () => {
    const whsec = `whsec_${randomBytes(24).toString('base64')}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = deliveryHeaders({ body, messageId: 'msg_1', timestampSeconds: timestamp, secret: whsec });
    assert.deepEqual(new StandardWebhook(whsec).verify(body, headers), JSON.parse(body));
    const plain = 'plain secret';
    const plainHeaders = deliveryHeaders({ body, messageId: 'msg_2', timestampSeconds: timestamp, secret: plain });
    assert.doesNotThrow(() => new StandardWebhook(Buffer.from(plain, 'utf8').toString('base64')).verify(body, plainHeaders));
    assert.throws(() => new StandardWebhook(whsec).verify(`${body} `, headers));
  });

  it('signs id.timestamp.body', () => {
    const mac = createHmac('sha256', Buffer.from('s', 'utf8')).update(`id.5.${body}`).digest('base64');
    assert.equal(standardWebhooksSignature('s', 'id', 5, body), `v1,${mac}`);
  });

  it('sends webhook-id and webhook-timestamp without a secret, but no signatures', () => {
    const headers = deliveryHeaders({ body, messageId: 'm', timestampSeconds: 7, authorization: 'Bearer x' });
    assert.deepEqual(headers, {
      'content-type': 'application/json',
      'user-agent': 'registry-webhooks/0.1.0',
      'webhook-id': 'm',
      'webhook-timestamp': '7',
      authorization: 'Bearer x',
    });
  });
});
