/** What every resource shares: the client and the helpers to call one resource or one page of a list. */

import type { HttpRequest, MarketplaceClient, RequestOptions } from '../client.js';
import { Page, PagePromise, type PageBody } from '../pagination.js';

export abstract class Resource {
  protected readonly _client: MarketplaceClient;

  constructor(client: MarketplaceClient) {
    this._client = client;
  }

  /** The `data` member of a response that holds one resource (or a plain list). */
  protected _data<T>(method: string, path: string, extra: Omit<HttpRequest, 'method' | 'path'> = {}): Promise<T> {
    return this._client.data<T>({ method, path, ...extra });
  }

  /** GET a paginated list; the page knows how to fetch the pages after it. */
  protected _page<T>(path: string, query: Record<string, unknown> | undefined, options?: RequestOptions): PagePromise<T> {
    const fetch = async (page?: number): Promise<Page<T>> => {
      const params = page === undefined ? query : { ...query, page };
      const body = await this._client.json<PageBody<T>>({ method: 'GET', path, query: params, ...options });
      return new Page<T>(body ?? {}, fetch);
    };
    return new PagePromise(fetch());
  }
}
