// A local HTTP server that answers with a handler, and a client wired to it with a recording sleep.
import { createServer } from 'node:http';
import { MarketplaceClient } from '../dist/esm/index.js';

/** Starts a server on 127.0.0.1; `handler(req, body, number)` returns { status, headers, json | body } or hangs. */
export async function serve(handler) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const answer = await handler(req, body, requests.length);
      if (answer === undefined) return; // hang: the client's timeout or abort must end it
      const headers = { ...(answer.headers ?? {}) };
      let payload = answer.body ?? '';
      if (answer.json !== undefined) {
        payload = JSON.stringify(answer.json);
        headers['Content-Type'] = 'application/json';
      }
      res.writeHead(answer.status ?? 200, headers);
      res.end(payload);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

/** A client on the server whose sleeps are recorded and return at once. */
export function clientFor(server, options = {}) {
  const sleeps = [];
  const client = new MarketplaceClient({
    apiKey: 'mkp_test',
    baseUrl: server.url,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, sleeps };
}

export function envelope(code, message, details = {}) {
  return { error: { code, message, details }, timestamp: '2026-12-01T00:00:00Z', requestId: `req_${code.toLowerCase()}` };
}

/** Resolves once `condition()` holds, checking on every turn of the event loop (no fixed sleep). */
export async function waitUntil(condition, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
