/** Reading an answer: its JSON body, and the error an error response stands for. */

import { errorClass, MarketplaceError, RateLimitError, type RateLimitErrorInit } from './errors.js';
import { rateLimitFromHeaders, retryAfterMs } from './util.js';

export async function readJson<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (response.status === 204 || !text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new MarketplaceError(`expected JSON from ${response.url || 'the server'}, got ${response.headers.get('content-type')}`, {
      code: 'INVALID_RESPONSE',
      status: response.status,
      requestId: response.headers.get('x-request-id') ?? undefined,
      headers: response.headers,
      cause: error,
    });
  }
}

/** The error for an error response (the spec's envelope, or anything else a proxy returned). */
export async function errorFromResponse(response: Response, now: number = Date.now()): Promise<MarketplaceError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const envelope = body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  let requestId = response.headers.get('x-request-id') ?? undefined;
  let code: string | undefined;
  let message: string;
  let details: Record<string, unknown> = {};
  if (envelope && typeof envelope === 'object') {
    const e = envelope as { code?: unknown; message?: unknown; details?: unknown };
    code = typeof e.code === 'string' ? e.code : undefined;
    message = typeof e.message === 'string' && e.message ? e.message : response.statusText || 'request failed';
    if (e.details && typeof e.details === 'object' && !Array.isArray(e.details)) {
      details = e.details as Record<string, unknown>;
    }
    const rid = (body as { requestId?: unknown }).requestId;
    if (typeof rid === 'string' && rid) requestId = rid;
  } else {
    const snippet = text.trim().slice(0, 200);
    message = `HTTP ${response.status} ${response.statusText}`.trim() + (snippet ? `: ${snippet}` : '');
  }
  const Cls = errorClass(code, response.status);
  const init: RateLimitErrorInit = { code, status: response.status, details, requestId, headers: response.headers };
  if (Cls === RateLimitError) {
    const limit = rateLimitFromHeaders(response.headers, now);
    const after = retryAfterMs(response.headers, now);
    Object.assign(init, {
      retryAfter: after === undefined ? undefined : after / 1000,
      reset: limit?.reset,
      limit: limit?.limit,
      remaining: limit?.remaining,
    });
  }
  return new Cls(message, init);
}
