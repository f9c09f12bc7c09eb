/** MarketplaceClient: authentication, the API prefix, timeouts, retries with backoff, and errors as exceptions. */

import {
  MarketplaceAbortError,
  MarketplaceConnectionError,
  MarketplaceError,
  MarketplaceTimeoutError,
} from './errors.js';
import { AccountsResource } from './resources/accounts.js';
import { EnvironmentsResource, InstallationsResource } from './resources/installations.js';
import { PluginsResource } from './resources/plugins.js';
import { PublisherResource } from './resources/publisher.js';
import { ReviewsResource } from './resources/reviews.js';
import { WebhooksResource } from './resources/webhooks.js';
import { errorFromResponse, readJson } from './responses.js';
import type { Me } from './types.js';
import { queryString, rateLimitFromHeaders, retryAfterMs, resetTime, type RateLimit } from './util.js';
import { VERSION } from './version.js';

export const API_PREFIX = '/api/marketplace/v1';
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
const RETRY_STATUSES = new Set([408, 429, 502, 503, 504]);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** An API key (`mkp_...`), sent as `Authorization: Bearer`. Without a key or token the client is anonymous. */
  apiKey?: string;
  /** A bearer token from your identity provider, instead of an API key. */
  token?: string;
  /** The portal root (`https://your-portal.com`); `/api/marketplace/v1` is added (a URL ending with it works too). */
  baseUrl?: string;
  /** Milliseconds to wait for each attempt of a request (default 60 000). */
  timeout?: number;
  /** Retries on connection errors, 408, 429, 502, 503, 504 (default 3). */
  maxRetries?: number;
  /** First backoff delay in ms without `Retry-After` (doubles per attempt, with jitter; default 500). */
  initialRetryDelay?: number;
  /** The longest single wait in ms (default 60 000). When the server asks for more, the error is thrown at once. */
  maxRetryWait?: number;
  /** The `fetch` to use (default: the platform's). */
  fetch?: Fetch;
  /** Headers added to every request. */
  defaultHeaders?: Record<string, string>;
  /** `User-Agent` (ignored by browsers, which set their own). */
  userAgent?: string;
  /** Waits `ms` before a retry or a poll (injected in tests); rejects when `signal` fires. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The current time in ms since the epoch (injected in tests). */
  now?: () => number;
}

/** Options every method takes as its last argument. */
export interface RequestOptions {
  /** Cancels the request (and its retries): a `MarketplaceAbortError` is thrown. */
  signal?: AbortSignal;
  /** Milliseconds for each attempt of this call, instead of the client's `timeout`. */
  timeout?: number;
  /** Retries for this call, instead of the client's `maxRetries`. */
  maxRetries?: number;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}

export interface HttpRequest extends RequestOptions {
  method: string;
  path: string;
  query?: Record<string, unknown>;
  json?: unknown;
  body?: BodyInit;
  /** Safe to send twice although the method is not idempotent (reads sent as POST). */
  idempotent?: boolean;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The portal root plus `/api/marketplace/v1`, without a trailing slash. */
export function normalizeBaseUrl(baseUrl: string): string {
  let url = baseUrl.trim().replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url)) throw new TypeError(`baseUrl must start with http:// or https://, not ${baseUrl}`);
  if (!url.endsWith(API_PREFIX)) url += API_PREFIX;
  return url;
}

function isServer(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown };
  return Boolean(g.process?.versions?.node || g.Deno);
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function processEnv(): Record<string, string | undefined> {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
}

function envBaseUrl(): string | undefined {
  return processEnv().MARKETPLACE_URL || undefined;
}

/**
 * A client for the Plugin Marketplace API.
 *
 * ```ts
 * const client = new MarketplaceClient({ apiKey: 'mkp_...', baseUrl: 'https://your-portal.com' });
 * const plugins = await client.plugins.list({ category: 'monitoring', verified: true });
 * ```
 *
 * Retries: connection errors, 408, 429, 502, 503 and 504 are retried with exponential backoff and
 * jitter, waiting what `Retry-After` (or, on 429, `X-RateLimit-Reset`) asks when it is within
 * `maxRetryWait`, for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) and for requests that
 * carry an `Idempotency-Key` (`plugins.install` sends one). A POST or PATCH without one is never sent twice.
 */
export class MarketplaceClient {
  readonly baseUrl: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly initialRetryDelay: number;
  readonly maxRetryWait: number;
  /** The quota reported by the last response that had one. */
  rateLimit: RateLimit | undefined;
  /** The `X-Request-Id` of the last response. */
  lastRequestId: string | undefined;

  readonly plugins: PluginsResource;
  readonly installations: InstallationsResource;
  readonly environments: EnvironmentsResource;
  readonly reviews: ReviewsResource;
  readonly webhooks: WebhooksResource;
  readonly publisher: PublisherResource;
  readonly accounts: AccountsResource;

  /** @internal */ readonly _sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @internal */ readonly _now: () => number;
  readonly #fetch: Fetch;
  readonly #headers: Record<string, string>;
  readonly #auth: 'apiKey' | 'token' | 'anonymous';

  constructor(options: ClientOptions = {}) {
    if (options.apiKey && options.token) throw new TypeError('give either apiKey or token, not both');
    this.baseUrl = normalizeBaseUrl(options.baseUrl ?? envBaseUrl() ?? DEFAULT_BASE_URL);
    this.timeout = options.timeout ?? 60_000;
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 3));
    this.initialRetryDelay = options.initialRetryDelay ?? 500;
    this.maxRetryWait = options.maxRetryWait ?? 60_000;
    const chosen = options.fetch ?? (globalThis as { fetch?: Fetch }).fetch;
    if (!chosen) throw new TypeError('no fetch: pass options.fetch (Node 18+, browsers, Deno and Bun have one)');
    // Called as a plain function: a browser's fetch refuses any other `this` ("Illegal invocation").
    this.#fetch = (input, init) => chosen(input, init);
    this._sleep = options.sleep ?? defaultSleep;
    this._now = options.now ?? Date.now;
    const credential = options.apiKey ?? options.token;
    this.#auth = options.apiKey ? 'apiKey' : options.token ? 'token' : 'anonymous';
    this.#headers = {
      Accept: 'application/json',
      // Not from a browser page: there it is the browser's, and a custom one costs every GET a CORS preflight.
      ...(isServer() || options.userAgent ? { 'User-Agent': options.userAgent ?? `backstage-marketplace-typescript/${VERSION}` } : {}),
      ...(credential ? { Authorization: `Bearer ${credential}` } : {}),
      ...options.defaultHeaders,
    };
    this.plugins = new PluginsResource(this);
    this.installations = new InstallationsResource(this);
    this.environments = new EnvironmentsResource(this);
    this.reviews = new ReviewsResource(this);
    this.webhooks = new WebhooksResource(this);
    this.publisher = new PublisherResource(this);
    this.accounts = new AccountsResource(this);
  }

  /** A client from `MARKETPLACE_URL` and `MARKETPLACE_API_KEY` (or `MARKETPLACE_TOKEN`), on Node, Deno and Bun. */
  static fromEnv(options: ClientOptions = {}): MarketplaceClient {
    const env = processEnv();
    const apiKey = options.apiKey ?? (options.token ? undefined : env.MARKETPLACE_API_KEY || undefined);
    const token = options.token ?? (apiKey ? undefined : env.MARKETPLACE_TOKEN || undefined);
    return new MarketplaceClient({ ...options, apiKey, token });
  }

  /** The portal root (`baseUrl` without the API prefix). */
  get portalUrl(): string {
    return this.baseUrl.slice(0, -API_PREFIX.length);
  }

  /** `GET /me`: the account the key belongs to (the same as `accounts.me()`). */
  me(options?: RequestOptions): Promise<Me> {
    return this.accounts.me(options);
  }

  /** The absolute URL of an API path (`/plugins`) or of a link the API returned. */
  url(path: string): string {
    if (/^https?:\/\//.test(path)) return path;
    const rooted = path.startsWith('/') ? path : `/${path}`;
    if (rooted === API_PREFIX || rooted.startsWith(`${API_PREFIX}/`)) return this.portalUrl + rooted;
    return this.baseUrl + rooted;
  }

  /** Send a request with the retries described on the class; throw a `MarketplaceError` on 4xx/5xx. */
  async request(req: HttpRequest): Promise<Response> {
    const method = req.method.toUpperCase();
    const url = this.url(req.path) + queryString(req.query);
    const headers: Record<string, string> = { ...this.#headers, ...req.headers };
    let body: BodyInit | undefined = req.body;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['Content-Type'] = 'application/json';
    }
    const hasKey = Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key');
    const replaySafe = IDEMPOTENT_METHODS.has(method) || hasKey || req.idempotent === true;
    const maxRetries = Math.max(0, req.maxRetries ?? this.maxRetries);
    const timeout = req.timeout ?? this.timeout;
    for (let attempt = 0; ; attempt += 1) {
      if (req.signal?.aborted) throw abortError(req.signal);
      let response: Response;
      try {
        response = await this.#send(url, { method, headers, body }, timeout, req.signal);
      } catch (error) {
        if (error instanceof MarketplaceAbortError) throw error;
        const failure = error as MarketplaceConnectionError;
        if (attempt < maxRetries && (replaySafe || neverSent(failure))) {
          await this.#wait(this.#backoff(attempt), req.signal);
          continue;
        }
        throw failure;
      }
      const now = this._now();
      this.lastRequestId = response.headers.get('x-request-id') ?? this.lastRequestId;
      this.rateLimit = rateLimitFromHeaders(response.headers, now) ?? this.rateLimit;
      if (RETRY_STATUSES.has(response.status) && attempt < maxRetries && replaySafe) {
        const delay = this.#retryDelay(response, attempt, now);
        if (delay !== undefined) {
          await response.body?.cancel().catch(() => undefined);
          await this.#wait(delay, req.signal);
          continue;
        }
      }
      if (response.status >= 400) throw await errorFromResponse(response, now);
      return response;
    }
  }

  /** The JSON body of a response (undefined for 204 and empty bodies). */
  async json<T>(req: HttpRequest): Promise<T> {
    return readJson<T>(await this.request(req));
  }

  /** The `data` member of the JSON body (the whole body when it has none). */
  async data<T>(req: HttpRequest): Promise<T> {
    const body = await this.json<unknown>(req);
    if (body && typeof body === 'object' && !Array.isArray(body) && 'data' in body) {
      return (body as { data: T }).data;
    }
    return body as T;
  }

  toString(): string {
    return `MarketplaceClient(${this.baseUrl}, ${this.#auth})`;
  }

  async #send(url: string, init: RequestInit, timeout: number, signal?: AbortSignal): Promise<Response> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = timeout > 0 && Number.isFinite(timeout)
      ? setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeout)
      : undefined;
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.#fetch(url, { ...init, signal: controller.signal });
      // Read the body inside the timeout too, so that a server stalling mid-body is caught.
      const bytes = await response.arrayBuffer();
      return new Response(NULL_BODY_STATUSES.has(response.status) ? null : bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      if (timedOut) {
        throw new MarketplaceTimeoutError(`no answer from ${url} within ${timeout} ms`, { cause: error });
      }
      const cause = (error as { cause?: { code?: string } }).cause;
      const refused = cause?.code === 'ECONNREFUSED';
      const failure = new MarketplaceConnectionError(
        `${refused ? 'could not reach' : 'connection failed to'} ${url}: ${(error as Error).message}${cause?.code ? ` (${cause.code})` : ''}`,
        { cause: error },
      );
      if (refused) (failure as { neverSent?: boolean }).neverSent = true;
      throw failure;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #wait(ms: number, signal?: AbortSignal): Promise<void> {
    try {
      await this._sleep(ms, signal);
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      throw error;
    }
  }

  #backoff(attempt: number): number {
    const delay = this.initialRetryDelay * 2 ** attempt;
    return Math.min(this.maxRetryWait, delay * (1 + Math.random() * 0.25));
  }

  /** How long to wait before retrying, or undefined when the server asks for more than `maxRetryWait`. */
  #retryDelay(response: Response, attempt: number, now: number): number | undefined {
    let asked = retryAfterMs(response.headers, now);
    if (asked === undefined && response.status === 429) {
      const reset = resetTime(response.headers.get('x-ratelimit-reset'), now);
      if (reset) asked = Math.max(0, reset.getTime() - now);
    }
    if (asked === undefined) return this.#backoff(attempt);
    return asked > this.maxRetryWait ? undefined : asked;
  }
}

function neverSent(error: MarketplaceConnectionError): boolean {
  return (error as { neverSent?: boolean }).neverSent === true;
}

function abortError(signal: AbortSignal): MarketplaceAbortError {
  return new MarketplaceAbortError('the request was aborted', { cause: signal.reason });
}
