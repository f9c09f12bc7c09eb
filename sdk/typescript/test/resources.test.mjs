import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  InstallationFailedError,
  InstallationTimeoutError,
  MarketplaceAbortError,
  MarketplaceError,
  Page,
  PagePromise,
} from '../dist/esm/index.js';
import { clientFor, serve } from './helpers.mjs';

const ALL = Array.from({ length: 5 }, (_, i) => ({ id: `plugin_${i + 1}` }));

function pageOf(url) {
  const params = new URL(url, 'http://x').searchParams;
  const page = Number(params.get('page') ?? 1);
  const limit = Number(params.get('limit') ?? 2);
  const data = ALL.slice((page - 1) * limit, page * limit);
  const totalPages = Math.ceil(ALL.length / limit);
  return {
    data,
    pagination: { page, limit, total: ALL.length, totalPages, hasNextPage: page < totalPages, hasPrevPage: page > 1 },
    links: { self: url },
    metadata: {},
  };
}

describe('pagination', () => {
  test('a list call is a page, an async iterable over every item of every page, and has nextPage()', async () => {
    const server = await serve((req) => ({ json: pageOf(req.url) }));
    try {
      const { client } = clientFor(server);
      const pending = client.plugins.list({ limit: 2, category: 'monitoring' });
      assert.ok(pending instanceof PagePromise);
      const first = await pending;
      assert.ok(first instanceof Page);
      assert.deepEqual(first.data.map((p) => p.id), ['plugin_1', 'plugin_2']);
      assert.equal(first.total, 5);
      assert.equal(first.totalPages, 3);
      assert.ok(first.hasNextPage() && !first.hasPrevPage());

      const second = await first.nextPage();
      assert.equal(second.page, 2);
      assert.deepEqual(second.data.map((p) => p.id), ['plugin_3', 'plugin_4']);
      const third = await second.nextPage();
      assert.equal(await third.nextPage(), null);

      const walked = [];
      for await (const item of client.plugins.list({ limit: 2 })) walked.push(item.id);
      assert.deepEqual(walked, ALL.map((p) => p.id));
      const fromPage = [];
      for await (const item of first) fromPage.push(item.id);
      assert.deepEqual(fromPage, walked);
      assert.deepEqual((await second.toArray()).map((p) => p.id), ['plugin_3', 'plugin_4', 'plugin_5']);
      const pageUrls = server.requests.map((r) => r.url);
      assert.ok(pageUrls.includes('/api/marketplace/v1/plugins?limit=2&category=monitoring&page=2'), pageUrls.join(' '));
    } finally {
      await server.close();
    }
  });

  test('search pages are POSTs carrying the page in the body', async () => {
    const server = await serve((req, body) => {
      const sent = JSON.parse(body);
      return { json: pageOf(`/plugins/search?page=${sent.pagination.page}&limit=${sent.pagination.limit}`) };
    });
    try {
      const { client } = clientFor(server);
      const found = [];
      for await (const item of client.plugins.search({ query: 'kubernetes', filters: { verified: true }, sort: 'rating', limit: 2 })) {
        found.push(item.id);
      }
      assert.equal(found.length, 5);
      assert.deepEqual(JSON.parse(server.requests[0].body), {
        query: 'kubernetes', filters: { verified: true }, sort: { field: 'rating' }, pagination: { page: 1, limit: 2 },
      });
      assert.ok(server.requests.every((r) => r.method === 'POST'));
    } finally {
      await server.close();
    }
  });
});

describe('installations.wait', () => {
  function installServer(states, lines) {
    let polls = 0;
    return serve((req) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname.endsWith('/logs')) {
        const cursor = Number(url.searchParams.get('cursor') ?? 0);
        const visible = lines.slice(0, Math.min(lines.length, polls * 2));
        const batch = visible.slice(cursor);
        return { json: { data: batch, pagination: { nextCursor: String(cursor + batch.length), hasMore: false } } };
      }
      const state = states[Math.min(polls, states.length - 1)];
      polls += 1;
      return { json: { data: { installationId: 'inst_1', ...state } } };
    });
  }

  const lines = Array.from({ length: 6 }, (_, i) => ({ id: i + 1, level: 'INFO', message: `step ${i + 1}` }));

  test('follows a job to its end, reporting each change of progress and every log line once', async () => {
    const server = await installServer([
      { status: 'pending', progress: { percentage: 0 } },
      { status: 'in_progress', progress: { percentage: 40 } },
      { status: 'in_progress', progress: { percentage: 40 } },
      { status: 'in_progress', progress: { percentage: 80 } },
      { status: 'completed', progress: { percentage: 100 } },
    ], lines);
    try {
      const { client, sleeps } = clientFor(server);
      const progress = [];
      const logged = [];
      const done = await client.installations.wait({ installationId: 'inst_1' }, {
        pollInterval: 250, onProgress: (i) => progress.push(i.progress.percentage), onLog: (l) => logged.push(l.id),
      });
      assert.equal(done.status, 'completed');
      assert.deepEqual(progress, [0, 40, 80, 100]);
      assert.deepEqual(logged, [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(sleeps, [250, 250, 250, 250]);
    } finally {
      await server.close();
    }
  });

  test('raiseOnFailure throws InstallationFailedError with the final installation', async () => {
    const server = await installServer([{ status: 'failed', error: { code: 'DEPENDENCY_UNRESOLVED', message: 'no such dep' } }], []);
    try {
      const { client } = clientFor(server);
      assert.equal((await client.installations.wait('inst_1')).status, 'failed');
      const error = await client.installations.wait('inst_1', { raiseOnFailure: true }).catch((e) => e);
      assert.ok(error instanceof InstallationFailedError);
      assert.match(error.message, /failed: no such dep/);
      assert.equal(error.installation.error.code, 'DEPENDENCY_UNRESOLVED');
    } finally {
      await server.close();
    }
  });

  test('gives up after its timeout on the injected clock', async () => {
    const server = await installServer([{ status: 'in_progress', progress: { percentage: 10 } }], []);
    try {
      let now = 0;
      const { client } = clientFor(server, {
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      });
      const error = await client.installations.wait('inst_1', { timeout: 5000, pollInterval: 1000 }).catch((e) => e);
      assert.ok(error instanceof InstallationTimeoutError, String(error));
      assert.equal(error.installation.status, 'in_progress');
      assert.equal(now, 5000);
    } finally {
      await server.close();
    }
  });

  test('an AbortSignal stops the wait', async () => {
    const server = await installServer([{ status: 'in_progress' }], []);
    try {
      const controller = new AbortController();
      const { client } = clientFor(server, {
        sleep: async () => {
          controller.abort();
        },
      });
      await assert.rejects(client.installations.wait('inst_1', { signal: controller.signal }), MarketplaceAbortError);
    } finally {
      await server.close();
    }
  });
});

describe('download and upload', () => {
  const bytes = Buffer.from('a package, not really gzipped');
  const integrity = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;

  test('download checks the SHA-256 against X-Integrity', async () => {
    const server = await serve((req) => (req.url.endsWith('/package')
      ? { body: bytes, headers: { 'X-Integrity': integrity, 'Content-Type': 'application/gzip', 'Content-Disposition': 'attachment; filename="one-1.0.0.tgz"', ETag: '"abc"' } }
      : { json: { data: { id: 'plugin_1', version: '1.0.0' } } }));
    try {
      const { client } = clientFor(server);
      const got = await client.plugins.download('plugin_1');
      assert.equal(got.version, '1.0.0');
      assert.deepEqual(Buffer.from(got.data), bytes);
      assert.equal(got.integrity, integrity);
      assert.equal(got.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(got.fileName, 'one-1.0.0.tgz');
      assert.equal(got.size, bytes.length);
      const error = await client.plugins.download('plugin_1', '1.0.0', { expectedIntegrity: 'sha256-AAAA' }).catch((e) => e);
      assert.ok(error instanceof MarketplaceError);
      assert.equal(error.code, 'INTEGRITY_MISMATCH');
    } finally {
      await server.close();
    }
  });

  test('a version is uploaded as multipart from a Buffer, a Blob, a web stream or a Node stream', async () => {
    const server = await serve(() => ({ status: 201, json: { data: { version: '1.0.0' } } }));
    try {
      const { client } = clientFor(server);
      const inputs = [
        bytes,
        new Blob([bytes]),
        { name: 'one-1.0.0.tgz', data: Readable.toWeb(Readable.from([bytes.subarray(0, 5), bytes.subarray(5)])) },
        { name: 'one.zip', data: Readable.from([bytes]) },
      ];
      for (const input of inputs) {
        assert.deepEqual(await client.publisher.publishVersion('plugin_1', input, { version: '1.0.0', changelog: 'x' }), { version: '1.0.0' });
      }
      for (const request of server.requests) {
        assert.match(request.headers['content-type'], /^multipart\/form-data; boundary=/);
        const text = request.body.toString('latin1');
        assert.ok(text.includes('name="metadata"') && text.includes('{"version":"1.0.0","changelog":"x"}'));
        assert.ok(text.includes('name="package"') && text.includes(bytes.toString('latin1')));
      }
      assert.ok(server.requests[2].body.toString().includes('filename="one-1.0.0.tgz"'));
      assert.ok(server.requests[3].body.toString().includes('Content-Type: application/zip'));
    } finally {
      await server.close();
    }
  });
});

describe('reviews', () => {
  test('mine() asks for the caller\'s own review with one call; moderation() pages the admin queue', async () => {
    const server = await serve((req) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname.endsWith('/plugins/p/reviews')) {
        const data = url.searchParams.get('mine') === 'true' ? [{ id: 'review_7' }] : [];
        return { json: { data, pagination: { page: 1, limit: 1, total: data.length, totalPages: data.length } } };
      }
      if (url.pathname.endsWith('/plugins/q/reviews')) return { json: { data: [], pagination: { page: 1, limit: 1, total: 0, totalPages: 0 } } };
      return { json: pageOf(req.url) };
    });
    try {
      const { client } = clientFor(server);
      assert.deepEqual(await client.reviews.mine('p'), { id: 'review_7' });
      assert.match(server.requests[0].url, /\/plugins\/p\/reviews\?(?=.*mine=true)(?=.*limit=1)/);
      assert.equal(await client.reviews.mine('q'), null);
      const ids = [];
      for await (const review of client.reviews.moderation({ status: 'reported', pluginId: 'p1', limit: 2 })) ids.push(review.id);
      assert.equal(ids.length, 5);
      const queue = server.requests.filter((r) => new URL(r.url, 'http://x').pathname.endsWith('/v1/reviews'));
      assert.equal(queue.length, 3);
      assert.match(queue[0].url, /status=reported/);
      assert.match(queue[0].url, /pluginId=p1/);
    } finally {
      await server.close();
    }
  });
});
