/** Small helpers: query strings, rate-limit and Retry-After headers, bytes and base64. */

/** The quota reported by the last response (`X-RateLimit-*` headers). */
export interface RateLimit {
  limit: number | undefined;
  remaining: number | undefined;
  reset: Date | undefined;
}

type QueryValue = string | number | boolean | Date | readonly (string | number)[] | null | undefined;

/** A query string from an object: booleans lower-case, arrays comma-separated, undefined/null dropped. */
export function queryString(params: Record<string, unknown> | undefined): string {
  if (!params) return '';
  const search = new URLSearchParams();
  for (const [key, raw] of Object.entries(params)) {
    const value = raw as QueryValue;
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) search.append(key, value.join(','));
    else if (value instanceof Date) search.append(key, value.toISOString());
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A moment from ISO 8601, an HTTP date, or epoch seconds; undefined when unreadable. */
export function parseTime(value: string | null | undefined): Date | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : new Date(parsed);
}

/** `X-RateLimit-Reset` as a moment: ISO 8601 (the spec), epoch seconds, or seconds from now. */
export function resetTime(value: string | null | undefined, nowMs: number): Date | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const number = Number(text);
    // Small numbers are a delay (IETF style), large ones an epoch time (GitHub style).
    return new Date(number > 1e9 ? number * 1000 : nowMs + number * 1000);
  }
  return parseTime(text);
}

/** `Retry-After` (delta seconds or an HTTP date) or `retry-after-ms`, in milliseconds. */
export function retryAfterMs(headers: Headers, nowMs: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms.trim());
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const moment = Date.parse(text);
  return Number.isNaN(moment) ? undefined : Math.max(0, moment - nowMs);
}

function int(value: string | null): number | undefined {
  if (value === null || !/^-?\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** The quota of a response, or undefined when it carries no `X-RateLimit-*` header. */
export function rateLimitFromHeaders(headers: Headers, nowMs: number): RateLimit | undefined {
  if (!headers.has('x-ratelimit-limit') && !headers.has('x-ratelimit-reset')) return undefined;
  return {
    limit: int(headers.get('x-ratelimit-limit')),
    remaining: int(headers.get('x-ratelimit-remaining')),
    reset: resetTime(headers.get('x-ratelimit-reset'), nowMs),
  };
}

/** One path segment, escaped. */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decoded base64, or undefined when the text is not valid base64. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Decoded hex, or undefined when the text is not an even number of hex digits. */
export function hexToBytes(text: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** A WebCrypto `SubtleCrypto`: the platform's (browsers, Deno, Bun, Node 19+) or Node 18's `node:crypto`. */
export async function subtle(): Promise<SubtleCrypto> {
  const found = (globalThis as { crypto?: Crypto }).crypto;
  if (found?.subtle) return found.subtle;
  const name = 'node:crypto'; // a variable, so that bundlers for browsers leave it alone
  const mod = (await import(/* webpackIgnore: true */ name)) as { webcrypto: Crypto };
  return mod.webcrypto.subtle;
}

/** A random id (idempotency keys). */
export function randomId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  return bytesToHex(bytes);
}
