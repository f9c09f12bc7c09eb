import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ConflictError,
  MarketplaceClient,
  ForbiddenError,
  MarketplaceAbortError,
  MarketplaceConnectionError,
  MarketplaceError,
  MarketplaceTimeoutError,
  NotFoundError,
  PluginNotFoundError,
  RateLimitError,
  ServerError,
  ServiceUnavailableError,
  UnauthorizedError,
  ValidationError,
} from '../dist/esm/index.js';
import { clientFor, envelope, serve, waitUntil } from './helpers.mjs';

const plugin = { id: 'plugin_1', name: 'one', category: 'monitoring', verified: true };

describe('requests', () => {
  test('the base URL is the portal root; the key is a bearer token; the query is written the API way', async () => {
    const server = await serve(() => ({ json: { data: [plugin], pagination: { page: 1, hasNextPage: false } } }));
    try {
      const { client } = clientFor(server, { baseUrl: `${server.url}/` });
      const page = await client.plugins.list({ category: 'monitoring', verified: true, tags: ['a', 'b'] });
      assert.deepEqual(page.data, [plugin]);
      const [request] = server.requests;
      assert.equal(request.url, '/api/marketplace/v1/plugins?category=monitoring&verified=true&tags=a%2Cb');
      assert.equal(request.headers.authorization, 'Bearer mkp_test');
      assert.match(request.headers['user-agent'], /^backstage-marketplace-typescript\//);
    } finally {
      await server.close();
    }
  });

  test('the rate-limit headers and the request id of the last response are readable', async () => {
    const server = await serve(() => ({
      json: { data: { id: 'acct_1' } },
      headers: { 'X-RateLimit-Limit': '1000', 'X-RateLimit-Remaining': '998', 'X-RateLimit-Reset': '2026-12-01T23:00:00Z', 'X-Request-Id': 'req_42' },
    }));
    try {
      const { client } = clientFor(server);
      assert.deepEqual(await client.me(), { id: 'acct_1' });
      assert.deepEqual(client.rateLimit, { limit: 1000, remaining: 998, reset: new Date('2026-12-01T23:00:00Z') });
      assert.equal(client.lastRequestId, 'req_42');
    } finally {
      await server.close();
    }
  });

  test('fromEnv reads MARKETPLACE_URL and MARKETPLACE_API_KEY', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { MARKETPLACE_URL: 'https://portal.example', MARKETPLACE_API_KEY: 'mkp_env' });
      const client = MarketplaceClient.fromEnv();
      assert.equal(client.baseUrl, 'https://portal.example/api/marketplace/v1');
      assert.equal(String(client), 'MarketplaceClient(https://portal.example/api/marketplace/v1, apiKey)');
    } finally {
      process.env = saved;
    }
  });

  test('an injected fetch is used, called without the client as its this', async () => {
    const seen = [];
    const { client } = clientFor({ url: 'https://portal.example' }, {
      fetch: async function (url, init) {
        assert.equal(this, undefined);
        seen.push([url, init.method]);
        return new Response(JSON.stringify({ data: [{ name: 'monitoring', count: 3 }] }), { status: 200 });
      },
    });
    assert.deepEqual(await client.plugins.categories(), [{ name: 'monitoring', count: 3 }]);
    assert.deepEqual(seen, [['https://portal.example/api/marketplace/v1/categories', 'GET']]);
  });
});

describe('retries', () => {
  test('429 with Retry-After is retried after the time the server asks', async () => {
    const server = await serve((req, body, n) => (n === 1
      ? { status: 429, json: envelope('RATE_LIMITED', 'slow down'), headers: { 'Retry-After': '2', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Limit': '3' } }
      : { json: { data: [plugin], pagination: { page: 1 } } }));
    try {
      const { client, sleeps } = clientFor(server);
      const page = await client.plugins.list();
      assert.equal(page.data[0].id, 'plugin_1');
      assert.deepEqual(sleeps, [2000]);
      assert.equal(server.requests.length, 2);
    } finally {
      await server.close();
    }
  });

  test('429 without Retry-After waits until X-RateLimit-Reset', async () => {
    const now = Date.parse('2026-12-01T22:00:00Z');
    const server = await serve((req, body, n) => (n === 1
      ? { status: 429, json: envelope('RATE_LIMITED', 'slow down'), headers: { 'X-RateLimit-Reset': '2026-12-01T22:00:05Z' } }
      : { json: { data: [] } }));
    try {
      const { client, sleeps } = clientFor(server, { now: () => now });
      await client.plugins.list();
      assert.deepEqual(sleeps, [5000]);
    } finally {
      await server.close();
    }
  });

  test('a wait beyond maxRetryWait is not slept: RateLimitError at once, with retryAfter and the reset time', async () => {
    const server = await serve(() => ({
      status: 429,
      json: envelope('RATE_LIMITED', 'Rate limit exceeded'),
      headers: { 'Retry-After': '3000', 'X-RateLimit-Limit': '3', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '2026-12-01T23:00:00Z' },
    }));
    try {
      const { client, sleeps } = clientFor(server, { maxRetryWait: 10_000 });
      const error = await client.plugins.list().then(() => assert.fail('no error'), (e) => e);
      assert.ok(error instanceof RateLimitError && error instanceof MarketplaceError);
      assert.equal(error.status, 429);
      assert.equal(error.code, 'RATE_LIMITED');
      assert.equal(error.retryAfter, 3000);
      assert.deepEqual(error.reset, new Date('2026-12-01T23:00:00Z'));
      assert.equal(error.limit, 3);
      assert.equal(error.remaining, 0);
      assert.equal(error.requestId, 'req_rate_limited');
      assert.deepEqual(sleeps, []);
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });

  test('503 then 200: retried with exponential backoff and jitter', async () => {
    const server = await serve((req, body, n) => (n < 3
      ? { status: 503, json: envelope('SERVICE_UNAVAILABLE', 'catalog is down') }
      : { json: { data: { id: 'plugin_1' } } }));
    try {
      const { client, sleeps } = clientFor(server, { initialRetryDelay: 100 });
      assert.deepEqual(await client.plugins.get('plugin_1'), { id: 'plugin_1' });
      assert.equal(sleeps.length, 2);
      assert.ok(sleeps[0] >= 100 && sleeps[0] <= 125, String(sleeps));
      assert.ok(sleeps[1] >= 200 && sleeps[1] <= 250, String(sleeps));
    } finally {
      await server.close();
    }
  });

  test('408, 502 and 504 are retried too; after maxRetries the error is thrown', async () => {
    const statuses = [408, 502, 504, 504];
    const server = await serve((req, body, n) => ({ status: statuses[n - 1], body: 'upstream trouble' }));
    try {
      const { client, sleeps } = clientFor(server, { maxRetries: 3 });
      const error = await client.plugins.tags().catch((e) => e);
      assert.ok(error instanceof ServiceUnavailableError && error instanceof ServerError);
      assert.equal(error.status, 504);
      assert.match(error.message, /HTTP 504.*upstream trouble/);
      assert.equal(sleeps.length, 3);
      assert.equal(server.requests.length, 4);
    } finally {
      await server.close();
    }
  });

  test('Retry-After as an HTTP date and retry-after-ms are honoured', async () => {
    const now = Date.parse('2026-12-01T22:00:00Z');
    const answers = [
      { status: 503, json: envelope('SERVICE_UNAVAILABLE', 'down'), headers: { 'Retry-After': 'Tue, 01 Dec 2026 22:00:03 GMT' } },
      { status: 429, json: envelope('RATE_LIMITED', 'slow'), headers: { 'retry-after-ms': '250', 'Retry-After': '1' } },
      { json: { data: [] } },
    ];
    const server = await serve((req, body, n) => answers[n - 1]);
    try {
      const { client, sleeps } = clientFor(server, { now: () => now });
      await client.plugins.categories();
      assert.deepEqual(sleeps, [3000, 250]);
    } finally {
      await server.close();
    }
  });

  test('an abort during the wait before a retry stops at once, with the default sleep', async () => {
    const server = await serve(() => ({ status: 429, json: envelope('RATE_LIMITED', 'slow'), headers: { 'Retry-After': '30' } }));
    try {
      const controller = new AbortController();
      const client = new MarketplaceClient({ baseUrl: server.url });
      const pending = client.plugins.list({}, { signal: controller.signal });
      await waitUntil(() => server.requests.length === 1);
      controller.abort();
      await assert.rejects(pending, MarketplaceAbortError);
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });

  test('a refused connection is retried even for a POST: nothing reached the server', async () => {
    const server = await serve(() => ({}));
    await server.close();
    const { client, sleeps } = clientFor(server, { maxRetries: 2 });
    await assert.rejects(client.reviews.create('plugin_1', { rating: 5 }), MarketplaceConnectionError);
    assert.equal(sleeps.length, 2);
  });

  test('a POST without an Idempotency-Key is never sent twice', async () => {
    const server = await serve(() => ({ status: 503, json: envelope('SERVICE_UNAVAILABLE', 'down') }));
    try {
      const { client, sleeps } = clientFor(server);
      await assert.rejects(client.reviews.create('plugin_1', { rating: 5 }), ServiceUnavailableError);
      assert.equal(server.requests.length, 1);
      assert.deepEqual(sleeps, []);
    } finally {
      await server.close();
    }
  });

  test('install sends an Idempotency-Key, the same on every retry, so it is retried', async () => {
    const server = await serve((req, body, n) => (n === 1
      ? { status: 502, body: 'bad gateway' }
      : { status: 202, json: { data: { installationId: 'inst_1', status: 'pending' } } }));
    try {
      const { client } = clientFor(server);
      const installation = await client.plugins.install('plugin_123', { version: '1.2.3', environment: 'production' });
      assert.equal(installation.installationId, 'inst_1');
      const [first, second] = server.requests;
      assert.ok(first.headers['idempotency-key']);
      assert.equal(first.headers['idempotency-key'], second.headers['idempotency-key']);
      assert.deepEqual(JSON.parse(second.body), { version: '1.2.3', environment: 'production' });
      await client.plugins.install('plugin_123', { environment: 'production' }, { idempotencyKey: 'mine' });
      assert.equal(server.requests[2].headers['idempotency-key'], 'mine');
    } finally {
      await server.close();
    }
  });

  test('connection errors are retried, then thrown as MarketplaceConnectionError', async () => {
    const server = await serve(() => ({ json: {} }));
    await server.close(); // nothing listens on its port now
    const { client, sleeps } = clientFor(server, { maxRetries: 2 });
    const error = await client.plugins.get('x').catch((e) => e);
    assert.ok(error instanceof MarketplaceConnectionError, String(error));
    assert.equal(error.code, 'CONNECTION_ERROR');
    assert.equal(error.status, undefined);
    assert.equal(sleeps.length, 2);
  });
});

describe('timeouts and aborts', () => {
  let server;
  before(async () => {
    server = await serve(() => undefined); // never answers
  });
  after(() => server.close());

  test('a per-call timeout ends the attempt with MarketplaceTimeoutError', async () => {
    const { client } = clientFor(server, { maxRetries: 0 });
    const error = await client.plugins.get('x', { timeout: 30 }).catch((e) => e);
    assert.ok(error instanceof MarketplaceTimeoutError && error instanceof MarketplaceConnectionError, String(error));
    assert.equal(error.code, 'TIMEOUT');
  });

  test('the client timeout applies to every attempt, and a timed-out GET is retried', async () => {
    const { client, sleeps } = clientFor(server, { timeout: 30, maxRetries: 1 });
    await assert.rejects(client.plugins.get('x'), MarketplaceTimeoutError);
    assert.equal(sleeps.length, 1);
  });

  test('an AbortSignal stops the call with MarketplaceAbortError, without retries', async () => {
    const { client, sleeps } = clientFor(server);
    const controller = new AbortController();
    const pending = client.plugins.get('x', { signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(pending, MarketplaceAbortError);
    assert.deepEqual(sleeps, []);
    await assert.rejects(client.plugins.list({}, { signal: AbortSignal.abort() }), MarketplaceAbortError);
  });
});

describe('error envelopes', () => {
  const cases = [
    [404, envelope('PLUGIN_NOT_FOUND', "Plugin 'x' not found", { pluginId: 'x' }), PluginNotFoundError],
    [404, envelope('INSTALLATION_NOT_FOUND', 'no such installation'), NotFoundError],
    [401, envelope('UNAUTHORIZED', 'missing credentials'), UnauthorizedError],
    [403, envelope('FORBIDDEN', 'not yours'), ForbiddenError],
    [409, envelope('ALREADY_INSTALLED', 'use PATCH'), ConflictError],
    [400, envelope('VALIDATION_ERROR', 'Invalid query', { fields: { limit: ['Must be between 1 and 100.'] } }), ValidationError],
    [500, envelope('INTERNAL_ERROR', 'boom'), ServerError],
  ];
  for (const [status, body, Cls] of cases) {
    test(`${status} ${body.error.code} -> ${Cls.name}`, async () => {
      const server = await serve(() => ({ status, json: body, headers: { 'X-Request-Id': 'req_header' } }));
      try {
        const { client } = clientFor(server, { maxRetries: 0 });
        const error = await client.plugins.get('x').catch((e) => e);
        assert.ok(error instanceof Cls, `${error.name}`);
        assert.equal(error.name, Cls.name);
        assert.equal(error.status, status);
        assert.equal(error.code, body.error.code);
        assert.equal(error.message, body.error.message);
        assert.deepEqual(error.details, body.error.details);
        assert.equal(error.requestId, body.requestId);
        if (Cls === ValidationError) assert.deepEqual(error.fields, { limit: ['Must be between 1 and 100.'] });
      } finally {
        await server.close();
      }
    });
  }

  test('a body that is not the envelope still gives an error with the status and the request id', async () => {
    const server = await serve(() => ({ status: 418, body: '<html>teapot</html>', headers: { 'X-Request-Id': 'req_tea' } }));
    try {
      const { client } = clientFor(server);
      const error = await client.plugins.get('x').catch((e) => e);
      assert.equal(error.constructor, MarketplaceError);
      assert.equal(error.status, 418);
      assert.equal(error.code, 'ERROR');
      assert.equal(error.requestId, 'req_tea');
    } finally {
      await server.close();
    }
  });
});
