import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../dist/esm/index.js';

// The vectors the Python, TypeScript and Go SDKs all check.
const { vectors } = JSON.parse(readFileSync(new URL('../../testdata/webhooks.json', import.meta.url), 'utf8'));

describe('shared webhook vectors', () => {
  assert.ok(vectors.length >= 10);
  for (const vector of vectors) {
    test(vector.name, async () => {
      const verify = () => verifyWebhook({
        secrets: vector.secrets, headers: vector.headers, body: vector.body,
        toleranceSeconds: vector.toleranceSeconds, now: vector.now * 1000,
      });
      if (vector.valid) {
        assert.equal((await verify()).event, 'plugin.installed');
        // The same with a Headers object and the body as bytes.
        const payload = await verifyWebhook({
          secrets: vector.secrets, headers: new Headers(vector.headers), body: new TextEncoder().encode(vector.body),
          toleranceSeconds: vector.toleranceSeconds, now: new Date(vector.now * 1000),
        });
        assert.equal(payload.event, 'plugin.installed');
      } else {
        const error = await verify().then(() => assert.fail('accepted'), (e) => e);
        assert.ok(error instanceof WebhookVerificationError, String(error));
        assert.equal(error.code, vector.error);
      }
    });
  }
});

describe('signWebhook', () => {
  test('what it signs verifies, with a whsec_ secret and with a plain one; a different body does not', async () => {
    for (const secret of ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'plain secret']) {
      const body = JSON.stringify({ event: 'plugin.updated', data: { pluginId: 'plugin_1' } });
      const headers = await signWebhook({ secret, body });
      assert.match(headers['webhook-signature'], /^v1,/);
      assert.match(headers['X-Marketplace-Signature-256'], /^sha256=[0-9a-f]{64}$/);
      assert.equal((await verifyWebhook({ secret, headers, body })).event, 'plugin.updated');
      await assert.rejects(verifyWebhook({ secret, headers, body: body.replace('1', '2') }), WebhookVerificationError);
    }
  });

  test('a body that is not a JSON object is refused after the signature checks', async () => {
    const headers = await signWebhook({ secret: 's', body: '[1]' });
    const error = await verifyWebhook({ secret: 's', headers, body: '[1]' }).catch((e) => e);
    assert.equal(error.code, 'INVALID_BODY');
  });
});
