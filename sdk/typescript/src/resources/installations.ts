/** `client.installations` (status, logs, wait, cancel, upgrade, uninstall) and `client.environments`. */

import type { RequestOptions } from '../client.js';
import { InstallationFailedError, InstallationTimeoutError, MarketplaceAbortError } from '../errors.js';
import type { LogPage, PagePromise } from '../pagination.js';
import type {
  DataOf,
  Environment,
  EnvironmentCreate,
  EnvironmentUpdate,
  Installation,
  ListInstallationsParams,
  LogLine,
  LogsParams,
  UpgradeRequest,
} from '../types.js';
import { seg } from '../util.js';
import { Resource } from './base.js';

/** Statuses after which an installation no longer changes by itself. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'uninstalled']);
/** Final statuses that mean it did not do what was asked. */
export const FAILED_STATUSES: ReadonlySet<string> = new Set(['failed', 'cancelled']);

/** An installation given by its id or as a resource the API returned. */
export type InstallationRef = string | { installationId?: string; id?: string };

export function installationId(ref: InstallationRef): string {
  if (typeof ref === 'string') return ref;
  const id = ref.installationId ?? ref.id;
  if (!id) throw new TypeError('the installation has no installationId');
  return id;
}

export interface WaitOptions {
  /** Called with the installation each time its status or progress changes. */
  onProgress?: (installation: Installation) => void;
  /** Called with each new log line, in order. */
  onLog?: (line: LogLine) => void;
  /** Stops waiting (a `MarketplaceAbortError`). */
  signal?: AbortSignal;
  /** Give up after this many ms with an `InstallationTimeoutError` (default 600 000; 0 or Infinity: never). */
  timeout?: number;
  /** Milliseconds between polls (default 1000). */
  pollInterval?: number;
  /** Throw an `InstallationFailedError` when it ends `failed` or `cancelled`. */
  raiseOnFailure?: boolean;
}

export class InstallationsResource extends Resource {
  /** `GET /installations/{installationId}`: status, progress and, on failure, the error. */
  get(ref: InstallationRef, options?: RequestOptions): Promise<Installation> {
    return this._data('GET', `/installations/${seg(installationId(ref))}`, options);
  }

  /** `GET /installations`: the caller's installations (every one for admins), filtered. */
  list(params: ListInstallationsParams = {}, options?: RequestOptions): PagePromise<Installation> {
    return this._page<Installation>('/installations', params as Record<string, unknown>, options);
  }

  /** `GET /installations/{installationId}/logs`: lines after `cursor` (from the start without one). */
  async logs(ref: InstallationRef, params: LogsParams = {}, options?: RequestOptions): Promise<LogPage<LogLine>> {
    const body = await this._client.json<Record<string, unknown>>({
      method: 'GET', path: `/installations/${seg(installationId(ref))}/logs`, query: params, ...options,
    }) ?? {};
    const block = (body.pagination ?? {}) as Record<string, unknown>;
    const cursor = body.nextCursor ?? body.cursor ?? block.nextCursor ?? block.cursor;
    return {
      data: Array.isArray(body.data) ? (body.data as LogLine[]) : [],
      nextCursor: typeof cursor === 'string' && cursor ? cursor : undefined,
      hasMore: Boolean(body.hasMore ?? block.hasMore ?? false),
      raw: body,
    };
  }

  /** Every log line written so far, following the cursor until no more lines come. */
  async *iterLogs(ref: InstallationRef, params: LogsParams = {}, options?: RequestOptions): AsyncGenerator<LogLine, void, undefined> {
    let cursor = params.cursor;
    for (;;) {
      const batch = await this.logs(ref, { ...params, cursor }, options);
      yield* batch.data;
      if (!batch.data.length || !batch.nextCursor || batch.nextCursor === cursor) return;
      cursor = batch.nextCursor;
    }
  }

  /** `POST /installations/{installationId}/cancel`: stop at the next step and roll back (409 once finished). */
  cancel(ref: InstallationRef, options?: RequestOptions): Promise<DataOf<'/installations/{installation_id}/cancel', 'post'>> {
    return this._data('POST', `/installations/${seg(installationId(ref))}/cancel`, options);
  }

  /** `PATCH /installations/{installationId}`: move to another version and/or configuration. */
  upgrade(ref: InstallationRef, body: UpgradeRequest, options?: RequestOptions): Promise<DataOf<'/installations/{installation_id}', 'patch'>> {
    return this._data('PATCH', `/installations/${seg(installationId(ref))}`, { json: body, ...options });
  }

  /** `DELETE /installations/{installationId}`: remove the plugin from its environment. */
  uninstall(ref: InstallationRef, options?: RequestOptions): Promise<DataOf<'/installations/{installation_id}', 'delete'>> {
    return this._data('DELETE', `/installations/${seg(installationId(ref))}`, options);
  }

  /** Poll until the installation reaches a final status and return it (see `WaitOptions`). */
  async wait(ref: InstallationRef, options: WaitOptions = {}): Promise<Installation> {
    const ident = installationId(ref);
    const { onProgress, onLog, signal, pollInterval = 1000, raiseOnFailure = false } = options;
    const timeout = options.timeout ?? 600_000;
    const deadline = timeout > 0 && Number.isFinite(timeout) ? this._client._now() + timeout : undefined;
    let cursor: string | undefined;
    let seen: string | undefined;
    for (;;) {
      if (signal?.aborted) throw new MarketplaceAbortError('waiting was aborted', { cause: signal.reason });
      const current = await this.get(ident, { signal });
      if (onLog) cursor = await this.#drainLogs(ident, cursor, onLog, signal);
      const state = JSON.stringify([current.status, current.progress]);
      if (onProgress && state !== seen) onProgress(current);
      seen = state;
      if (current.status && FINAL_STATUSES.has(current.status)) {
        if (onLog) await this.#drainLogs(ident, cursor, onLog, signal);
        if (raiseOnFailure && FAILED_STATUSES.has(current.status)) {
          const reason = (current.error as { message?: string } | null | undefined)?.message;
          throw new InstallationFailedError(`installation ${ident} ${current.status}${reason ? `: ${reason}` : ''}`,
            current as Record<string, unknown>);
        }
        return current;
      }
      if (deadline !== undefined && this._client._now() >= deadline) {
        throw new InstallationTimeoutError(`installation ${ident} still ${current.status} after ${timeout} ms`,
          current as Record<string, unknown>);
      }
      try {
        await this._client._sleep(pollInterval, signal);
      } catch (error) {
        if (signal?.aborted) throw new MarketplaceAbortError('waiting was aborted', { cause: signal.reason });
        throw error;
      }
    }
  }

  async #drainLogs(ident: string, start: string | undefined, onLog: (line: LogLine) => void,
    signal?: AbortSignal): Promise<string | undefined> {
    let cursor = start;
    for (;;) {
      const batch = await this.logs(ident, cursor ? { cursor } : {}, { signal });
      for (const line of batch.data) onLog(line);
      if (!batch.data.length || !batch.nextCursor || batch.nextCursor === cursor) return batch.nextCursor ?? cursor;
      cursor = batch.nextCursor;
    }
  }
}

/** `client.environments`: where plugins are installed, with their Backstage and Node versions (admin). */
export class EnvironmentsResource extends Resource {
  /** `GET /environments`. */
  list(params: { page?: number; limit?: number } = {}, options?: RequestOptions): PagePromise<Environment> {
    return this._page<Environment>('/environments', params, options);
  }

  /** `GET /environments/{name}`. */
  get(name: string, options?: RequestOptions): Promise<Environment> {
    return this._data('GET', `/environments/${seg(name)}`, options);
  }

  /** `POST /environments`. */
  create(body: EnvironmentCreate, options?: RequestOptions): Promise<Environment> {
    return this._data('POST', '/environments', { json: body, ...options });
  }

  /** `PATCH /environments/{name}`. */
  update(name: string, body: EnvironmentUpdate, options?: RequestOptions): Promise<Environment> {
    return this._data('PATCH', `/environments/${seg(name)}`, { json: body, ...options });
  }
}
