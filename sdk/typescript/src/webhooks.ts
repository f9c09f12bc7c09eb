/** Checking the webhook requests the marketplace sends (both signature schemes, a replay window), with WebCrypto only. */

import { WebhookVerificationError } from './errors.js';
import { base64ToBytes, bytesToBase64, bytesToHex, hexToBytes, randomId, subtle } from './util.js';

export const SECRET_PREFIX = 'whsec_';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A subscription secret: `whsec_<base64>`, any other string (its UTF-8 bytes), or the key's bytes. */
export type WebhookSecret = string | Uint8Array;

/** Request headers: a `Headers`, or a plain object such as Node's `req.headers` (names in any case). */
export type HeadersLike = Headers | Record<string, string | readonly string[] | undefined>;

/** The raw body exactly as received: never JSON that was parsed and serialised again. */
export type RawBody = string | Uint8Array | ArrayBuffer;

export interface VerifyWebhookOptions {
  /** The subscription's secret. */
  secret?: WebhookSecret;
  /** Several secrets (during a rotation): any one of them may match. */
  secrets?: readonly WebhookSecret[];
  headers: HeadersLike;
  body: RawBody;
  /** The replay window: `webhook-timestamp` must be this close to now (default 300). */
  toleranceSeconds?: number;
  /** The receiver's clock (tests): a `Date` or epoch milliseconds. */
  now?: Date | number;
}

const encoder = new TextEncoder();

/** The HMAC key of a secret: the base64-decoded part after `whsec_`, otherwise its UTF-8 bytes. */
export function secretKey(secret: WebhookSecret): Uint8Array {
  if (typeof secret !== 'string') return secret;
  if (secret.startsWith(SECRET_PREFIX)) {
    const key = base64ToBytes(secret.slice(SECRET_PREFIX.length));
    if (!key) throw new TypeError("a 'whsec_' secret must continue with valid base64");
    return key;
  }
  return encoder.encode(secret);
}

function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    return (headers as Headers).get(name) ?? undefined;
  }
  const lowered = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (key.toLowerCase() !== lowered || value === undefined) continue;
    return typeof value === 'string' ? value : value.join(', ');
  }
  return undefined;
}

function rawBytes(body: RawBody): Uint8Array {
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

async function hmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const crypto = await subtle();
  const imported = await crypto.importKey('raw', key.slice(), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.sign('HMAC', imported, message.slice()));
}

/** Constant-time equality of two byte strings (their lengths are not secret). */
function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

function anyMatch(expected: Uint8Array[], given: Uint8Array[]): boolean {
  let matched = false;
  // Every pair is compared, so that timing does not tell which one matched.
  for (const candidate of expected) for (const signature of given) matched = equal(candidate, signature) || matched;
  return matched;
}

function hexSignatures(value: string): Uint8Array[] {
  const found: Uint8Array[] = [];
  for (let token of value.replace(/,/g, ' ').split(/\s+/)) {
    if (!token) continue;
    if (token.toLowerCase().startsWith('sha256=')) token = token.slice(7);
    const bytes = hexToBytes(token);
    if (bytes) found.push(bytes);
  }
  return found;
}

function v1Signatures(value: string): Uint8Array[] {
  const found: Uint8Array[] = [];
  for (const token of value.split(/\s+/)) {
    const comma = token.indexOf(',');
    if (comma < 0 || token.slice(0, comma) !== 'v1') continue;
    const bytes = base64ToBytes(token.slice(comma + 1));
    if (bytes && bytes.length) found.push(bytes);
  }
  return found;
}

function fail(message: string, code: string): never {
  throw new WebhookVerificationError(message, { code });
}

/**
 * Check a webhook request from the marketplace and return its parsed payload.
 *
 * Both schemes the marketplace sends are checked when present: Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
 * several separated by spaces) and `X-Marketplace-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
 * (plus `X-Marketplace-Signature-256-Previous` during a rotation). At least one must be present, each
 * present must verify, and Standard Webhooks requests must be within the replay window. Throws a
 * `WebhookVerificationError` (codes `MISSING_SIGNATURE`, `INVALID_TIMESTAMP`, `TIMESTAMP_OUT_OF_WINDOW`,
 * `INVALID_SIGNATURE`, `INVALID_BODY`) otherwise.
 */
export async function verifyWebhook<T = Record<string, unknown>>(options: VerifyWebhookOptions): Promise<T> {
  const { headers, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = options;
  const secrets = [...(options.secrets ?? []), ...(options.secret !== undefined ? [options.secret] : [])];
  if (!secrets.length) throw new TypeError('no webhook secret given');
  const keys = secrets.map(secretKey);
  const raw = rawBytes(options.body);
  const messageId = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const standard = header(headers, 'webhook-signature');
  const legacy = [header(headers, 'X-Marketplace-Signature-256'), header(headers, 'X-Marketplace-Signature-256-Previous')]
    .filter((value): value is string => Boolean(value));
  if (!standard && !legacy.length) fail('no webhook signature headers', 'MISSING_SIGNATURE');

  if (standard || messageId || timestamp) {
    if (!standard || !messageId || !timestamp) {
      fail('webhook-id, webhook-timestamp and webhook-signature must all be present', 'MISSING_SIGNATURE');
    }
    const stamp = timestamp.trim();
    if (!/^\d+$/.test(stamp)) fail('webhook-timestamp is not a number of seconds', 'INVALID_TIMESTAMP');
    const nowMs = options.now === undefined ? Date.now() : options.now instanceof Date ? options.now.getTime() : options.now;
    const drift = nowMs / 1000 - Number(stamp);
    if (Math.abs(drift) > toleranceSeconds) {
      fail(`webhook-timestamp is ${Math.trunc(drift)}s away from now (tolerance ${toleranceSeconds}s): a replay or a wrong clock`,
        'TIMESTAMP_OUT_OF_WINDOW');
    }
    const prefix = encoder.encode(`${messageId}.${stamp}.`);
    const signed = new Uint8Array(prefix.length + raw.length);
    signed.set(prefix);
    signed.set(raw, prefix.length);
    const expected = await Promise.all(keys.map((key) => hmac(key, signed)));
    if (!anyMatch(expected, v1Signatures(standard))) fail('webhook-signature does not match', 'INVALID_SIGNATURE');
  }

  if (legacy.length) {
    const expected = await Promise.all(keys.map((key) => hmac(key, raw)));
    if (!anyMatch(expected, legacy.flatMap(hexSignatures))) {
      fail('X-Marketplace-Signature-256 does not match', 'INVALID_SIGNATURE');
    }
  }

  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    fail('the body is not JSON', 'INVALID_BODY');
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) fail('the body is not a JSON object', 'INVALID_BODY');
  return payload as T;
}

export interface SignWebhookOptions {
  secret: WebhookSecret;
  body: RawBody;
  /** The delivery id (`webhook-id`); a random one by default. */
  id?: string;
  /** Epoch seconds (`webhook-timestamp`); now by default. */
  timestamp?: number;
}

/** The headers the marketplace would send with `body` (both schemes): for testing a receiver. */
export async function signWebhook(options: SignWebhookOptions): Promise<Record<string, string>> {
  const key = secretKey(options.secret);
  const raw = rawBytes(options.body);
  const id = options.id ?? `dlv_${randomId().replace(/-/g, '')}`;
  const timestamp = String(Math.floor(options.timestamp ?? Date.now() / 1000));
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + raw.length);
  signed.set(prefix);
  signed.set(raw, prefix.length);
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${bytesToBase64(await hmac(key, signed))}`,
    'X-Marketplace-Signature-256': `sha256=${bytesToHex(await hmac(key, raw))}`,
  };
}
