/** `client.plugins`: discovery (list, search, details, versions, stats, categories, tags), download, install. */

import type { RequestOptions } from '../client.js';
import { MarketplaceError } from '../errors.js';
import { Page, PagePromise, type PageBody } from '../pagination.js';
import type {
  Count,
  InstallAccepted,
  InstallRequest,
  JsonObject,
  ListPluginsParams,
  Plugin,
  PluginDetails,
  PluginStats,
  PluginVersion,
  SearchFilters,
  SearchRequest,
} from '../types.js';
import { base64ToBytes, bytesToBase64, bytesToHex, randomId, seg, subtle } from '../util.js';
import { Resource } from './base.js';

export interface SearchParams {
  /** The words to look for (typos are forgiven). */
  query?: string;
  filters?: SearchFilters;
  /** A field (`relevance`, `name`, `popularity`, `updated`, `rating`) or the spec's `{ field, order }`. */
  sort?: SearchRequest['sort'] | NonNullable<SearchRequest['sort']>['field'];
  order?: 'asc' | 'desc';
  page?: number;
  limit?: number;
}

export interface InstallOptions extends RequestOptions {
  /** Sent as `Idempotency-Key`; one is generated when not given, so that a retry never installs twice. */
  idempotencyKey?: string;
}

export interface DownloadOptions extends RequestOptions {
  /** `sha256-<base64>` or hex; by default the `X-Integrity` header the server sends is checked. */
  expectedIntegrity?: string;
}

/** A downloaded package whose SHA-256 was checked. */
export interface Download {
  pluginId: string;
  version: string;
  /** The package's bytes. */
  data: Uint8Array;
  size: number;
  /** Hex SHA-256 of the bytes received. */
  sha256: string;
  /** The same digest in subresource-integrity form (`sha256-<base64>`). */
  integrity: string;
  /** The file name the server suggests (`Content-Disposition`). */
  fileName: string | undefined;
  etag: string | undefined;
  contentType: string | undefined;
}

function integrityMatches(expected: string, digest: Uint8Array): boolean {
  const text = expected.trim();
  if (text.startsWith('sha256-')) {
    const bytes = base64ToBytes(text.slice(7));
    return bytes !== undefined && bytesToBase64(bytes) === bytesToBase64(digest);
  }
  return text.toLowerCase().replace(/^sha256[:=]/, '') === bytesToHex(digest);
}

function fileName(disposition: string | null): string | undefined {
  const match = disposition?.match(/filename="?([^";]+)"?/i);
  const name = match?.[1]?.split(/[\\/]/).pop();
  return name && name !== '.' && name !== '..' ? name : undefined;
}

export class PluginsResource extends Resource {
  /** `GET /plugins`: await it for one page, or `for await` over every plugin of every page. */
  list(params: ListPluginsParams = {}, options?: RequestOptions): PagePromise<Plugin> {
    return this._page<Plugin>('/plugins', params as Record<string, unknown>, options);
  }

  /** `GET /plugins/{pluginId}`: every detail of one plugin (its id or its name). */
  get(pluginId: string, options?: RequestOptions): Promise<PluginDetails> {
    return this._data('GET', `/plugins/${seg(pluginId)}`, options);
  }

  /** `GET /plugins/{pluginId}/versions`: newest first; yanked ones carry their reason. */
  versions(pluginId: string, params: { page?: number; limit?: number } = {}, options?: RequestOptions): PagePromise<PluginVersion> {
    return this._page<PluginVersion>(`/plugins/${seg(pluginId)}/versions`, params, options);
  }

  /** `GET /plugins/{pluginId}/versions/{version}`: one version with its package (size, sha256, integrity). */
  getVersion(pluginId: string, version: string, options?: RequestOptions): Promise<PluginVersion> {
    return this._data('GET', `/plugins/${seg(pluginId)}/versions/${seg(version)}`, options);
  }

  /** `POST /plugins/search`: full-text search with filters; paginated like `list`. */
  search(params: SearchParams | string = {}, options?: RequestOptions): PagePromise<Plugin> {
    const { query, filters, sort, order, page, limit } = typeof params === 'string' ? { query: params } as SearchParams : params;
    const body: Partial<SearchRequest> = {};
    if (query !== undefined) body.query = query;
    if (filters) body.filters = filters;
    if (sort && typeof sort === 'object') body.sort = sort;
    else if (sort !== undefined || order !== undefined) {
      body.sort = { ...(sort ? { field: sort } : {}), ...(order ? { order } : {}) } as SearchRequest['sort'];
    }
    const fetch = async (number: number): Promise<Page<Plugin>> => {
      const pagination = { page: number, ...(limit !== undefined ? { limit } : {}) };
      const result = await this._client.json<PageBody<Plugin>>({
        method: 'POST', path: '/plugins/search', json: { ...body, pagination }, idempotent: true, ...options,
      });
      return new Page<Plugin>(result ?? {}, fetch);
    };
    return new PagePromise(fetch(page ?? 1));
  }

  /** `GET /plugins/{pluginId}/stats`: usage, performance and trends. */
  stats(pluginId: string, options?: RequestOptions): Promise<PluginStats> {
    return this._data('GET', `/plugins/${seg(pluginId)}/stats`, options);
  }

  /** `GET /categories`: every category with its plugin count. */
  categories(options?: RequestOptions): Promise<Count[]> {
    return this._data('GET', '/categories', options);
  }

  /** `GET /tags`: every tag with its plugin count. */
  tags(options?: RequestOptions): Promise<Count[]> {
    return this._data('GET', '/tags', options);
  }

  /**
   * `POST /plugins/{pluginId}/install`: start an installation and return it (`pending`). Follow it
   * with `client.installations.wait(installation.installationId)`.
   */
  install(pluginId: string, body: InstallRequest, options: InstallOptions = {}): Promise<InstallAccepted> {
    const { idempotencyKey, ...rest } = options;
    return this._data('POST', `/plugins/${seg(pluginId)}/install`, {
      json: body,
      ...rest,
      headers: { ...rest.headers, 'Idempotency-Key': idempotencyKey ?? randomId() },
    });
  }

  /** `POST /plugins/{pluginId}/telemetry`: report usage figures from an installation. */
  telemetry(pluginId: string, metrics: JsonObject, options?: RequestOptions): Promise<JsonObject> {
    return this._data('POST', `/plugins/${seg(pluginId)}/telemetry`, { json: metrics, ...options });
  }

  /**
   * Download a version's package (the latest when `version` is undefined) and check its SHA-256
   * against `expectedIntegrity` or the server's `X-Integrity`; a mismatch throws a `MarketplaceError`
   * with code `INTEGRITY_MISMATCH`.
   */
  async download(pluginId: string, version?: string, options: DownloadOptions = {}): Promise<Download> {
    const { expectedIntegrity, ...rest } = options;
    let chosen = version;
    if (chosen === undefined) {
      const details = await this.get(pluginId, rest);
      chosen = details.version ?? undefined;
      if (!chosen) throw new MarketplaceError(`plugin ${pluginId} has no installable version`, { code: 'NO_VERSION' });
    }
    const response = await this._client.request({
      method: 'GET',
      path: `/plugins/${seg(pluginId)}/versions/${seg(chosen)}/package`,
      ...rest,
      headers: { Accept: '*/*', ...rest.headers },
    });
    const data = new Uint8Array(await response.arrayBuffer());
    const digest = new Uint8Array(await (await subtle()).digest('SHA-256', data));
    const expected = expectedIntegrity ?? response.headers.get('x-integrity') ?? undefined;
    if (expected && !integrityMatches(expected, digest)) {
      throw new MarketplaceError(`downloaded package does not match ${expected}`, {
        code: 'INTEGRITY_MISMATCH',
        details: { sha256: bytesToHex(digest) },
        status: response.status,
        headers: response.headers,
      });
    }
    return {
      pluginId,
      version: chosen,
      data,
      size: data.byteLength,
      sha256: bytesToHex(digest),
      integrity: `sha256-${bytesToBase64(digest)}`,
      fileName: fileName(response.headers.get('content-disposition')),
      etag: response.headers.get('etag') ?? undefined,
      contentType: response.headers.get('content-type') ?? undefined,
    };
  }
}
