/** Errors: every error envelope of the API becomes one of these classes, chosen by its error code. */

/** What the spec's error envelope carries, plus the HTTP status and the response headers. */
export interface MarketplaceErrorInit {
  code?: string;
  status?: number;
  details?: Record<string, unknown>;
  requestId?: string;
  headers?: Headers;
  cause?: unknown;
}

/** Base class of every error the SDK throws. */
export class MarketplaceError extends Error {
  static readonly defaultCode: string = 'ERROR';
  /** The envelope's code (`PLUGIN_NOT_FOUND`, `VALIDATION_ERROR`, ...). */
  readonly code: string;
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** The envelope's `details` (`{}` when absent). */
  readonly details: Record<string, unknown>;
  /** The request id to quote when asking for support (`requestId` of the envelope or `X-Request-Id`). */
  readonly requestId: string | undefined;
  /** The response headers, when there was a response. */
  readonly headers: Headers | undefined;

  constructor(message: string, init: MarketplaceErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code ?? (new.target as typeof MarketplaceError).defaultCode;
    this.status = init.status;
    this.details = init.details ?? {};
    this.requestId = init.requestId;
    this.headers = init.headers;
  }
}

/** 400/422 `VALIDATION_ERROR`: `fields` maps each invalid field to its messages. */
export class ValidationError extends MarketplaceError {
  static override readonly defaultCode: string = 'VALIDATION_ERROR';
  /** The invalid fields and their messages (empty when the server named none). */
  get fields(): Record<string, unknown> {
    const fields = this.details.fields;
    return fields && typeof fields === 'object' && !Array.isArray(fields) ? (fields as Record<string, unknown>) : {};
  }
}

/** 401 `UNAUTHORIZED`: no credentials, or a key that is unknown, revoked or expired. */
export class UnauthorizedError extends MarketplaceError {
  static override readonly defaultCode: string = 'UNAUTHORIZED';
}

/** 403 `FORBIDDEN`: authenticated, but the role or ownership does not allow it. */
export class ForbiddenError extends MarketplaceError {
  static override readonly defaultCode: string = 'FORBIDDEN';
}

/** 404: the resource (or route) does not exist. */
export class NotFoundError extends MarketplaceError {
  static override readonly defaultCode: string = 'NOT_FOUND';
}

/** 404 `PLUGIN_NOT_FOUND`. */
export class PluginNotFoundError extends NotFoundError {
  static override readonly defaultCode: string = 'PLUGIN_NOT_FOUND';
}

/** 409: duplicate, already installed, already finished, and the like. */
export class ConflictError extends MarketplaceError {
  static override readonly defaultCode: string = 'CONFLICT';
}

/** 413 `PAYLOAD_TOO_LARGE`. */
export class PayloadTooLargeError extends MarketplaceError {
  static override readonly defaultCode: string = 'PAYLOAD_TOO_LARGE';
}

export interface RateLimitErrorInit extends MarketplaceErrorInit {
  retryAfter?: number;
  reset?: Date;
  limit?: number;
  remaining?: number;
}

/** 429 `RATE_LIMITED`, thrown once the retries are used up or the wait asked for is beyond `maxRetryWait`. */
export class RateLimitError extends MarketplaceError {
  static override readonly defaultCode: string = 'RATE_LIMITED';
  /** Seconds the server asked to wait (`Retry-After`). */
  readonly retryAfter: number | undefined;
  /** When the window resets (`X-RateLimit-Reset`). */
  readonly reset: Date | undefined;
  readonly limit: number | undefined;
  readonly remaining: number | undefined;

  constructor(message: string, init: RateLimitErrorInit = {}) {
    super(message, init);
    this.retryAfter = init.retryAfter;
    this.reset = init.reset;
    this.limit = init.limit;
    this.remaining = init.remaining;
  }
}

/** 5xx `INTERNAL_ERROR` and other server-side failures. */
export class ServerError extends MarketplaceError {
  static override readonly defaultCode: string = 'INTERNAL_ERROR';
}

/** 502, 503 `SERVICE_UNAVAILABLE`, 504 `GATEWAY_TIMEOUT`: try again later. */
export class ServiceUnavailableError extends ServerError {
  static override readonly defaultCode: string = 'SERVICE_UNAVAILABLE';
}

/** The server could not be reached, or the connection broke (no HTTP status). */
export class MarketplaceConnectionError extends MarketplaceError {
  static override readonly defaultCode: string = 'CONNECTION_ERROR';
}

/** No answer within the timeout (the client's `timeout` or the call's). */
export class MarketplaceTimeoutError extends MarketplaceConnectionError {
  static override readonly defaultCode: string = 'TIMEOUT';
}

/** The caller's `AbortSignal` fired; never retried. */
export class MarketplaceAbortError extends MarketplaceError {
  static override readonly defaultCode: string = 'ABORTED';
}

/** An installation ended `failed` or `cancelled` (`installations.wait(id, { raiseOnFailure: true })`). */
export class InstallationFailedError extends MarketplaceError {
  static override readonly defaultCode: string = 'INSTALLATION_FAILED';
  constructor(message: string, readonly installation: Record<string, unknown>, init: MarketplaceErrorInit = {}) {
    super(message, init);
  }
}

/** `installations.wait` gave up before the installation finished; `installation` is the last state seen. */
export class InstallationTimeoutError extends MarketplaceError {
  static override readonly defaultCode: string = 'INSTALLATION_TIMEOUT';
  constructor(message: string, readonly installation: Record<string, unknown>, init: MarketplaceErrorInit = {}) {
    super(message, init);
  }
}

/** A webhook request whose signature, timestamp or headers do not check out: answer it with 400/401. */
export class WebhookVerificationError extends MarketplaceError {
  static override readonly defaultCode: string = 'WEBHOOK_VERIFICATION_FAILED';
}

type ErrorClass = new (message: string, init?: RateLimitErrorInit) => MarketplaceError;

/** Error code -> class. Codes not listed fall back on the HTTP status. */
export const CODE_ERRORS: Readonly<Record<string, ErrorClass>> = {
  PLUGIN_NOT_FOUND: PluginNotFoundError,
  NOT_FOUND: NotFoundError,
  UNAUTHORIZED: UnauthorizedError,
  FORBIDDEN: ForbiddenError,
  RATE_LIMITED: RateLimitError,
  VALIDATION_ERROR: ValidationError,
  CONFLICT: ConflictError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  INTERNAL_ERROR: ServerError,
  SERVICE_UNAVAILABLE: ServiceUnavailableError,
  GATEWAY_TIMEOUT: ServiceUnavailableError,
};

const STATUS_ERRORS: Readonly<Record<number, ErrorClass>> = {
  400: ValidationError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  422: ValidationError,
  429: RateLimitError,
  500: ServerError,
  502: ServiceUnavailableError,
  503: ServiceUnavailableError,
  504: ServiceUnavailableError,
};

/** The class for an error code, else for the HTTP status, else the base class. */
export function errorClass(code: string | undefined, status: number | undefined): ErrorClass {
  if (code && Object.prototype.hasOwnProperty.call(CODE_ERRORS, code)) return CODE_ERRORS[code];
  if (code && code.endsWith('_NOT_FOUND')) return NotFoundError;
  if (status !== undefined) {
    if (STATUS_ERRORS[status]) return STATUS_ERRORS[status];
    if (status >= 500) return ServerError;
  }
  return MarketplaceError;
}
