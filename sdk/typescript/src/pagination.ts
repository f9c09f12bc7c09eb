/** Pages of results (the spec's `data` / `pagination` / `links` / `metadata`), async iterable across pages. */

export interface PaginationBlock {
  page?: number;
  limit?: number;
  total?: number;
  totalPages?: number;
  hasNextPage?: boolean;
  hasPrevPage?: boolean;
  [key: string]: unknown;
}

export interface PageBody<T> {
  data?: T[];
  pagination?: PaginationBlock;
  links?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export type FetchPage<T> = (page: number) => Promise<Page<T>>;

/**
 * One page of a list. `data` holds this page's items; iterating it with `for await` walks every item
 * of this page and of every page after it, fetched as needed. `nextPage()` fetches the next one.
 */
export class Page<T> implements AsyncIterable<T> {
  readonly data: T[];
  readonly pagination: PaginationBlock;
  readonly links: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
  /** The whole JSON body. */
  readonly raw: PageBody<T>;
  readonly #fetch: FetchPage<T> | undefined;

  constructor(body: PageBody<T>, fetch?: FetchPage<T>) {
    this.raw = body;
    this.data = Array.isArray(body.data) ? body.data : [];
    this.pagination = body.pagination ?? {};
    this.links = body.links ?? {};
    this.metadata = body.metadata ?? {};
    this.#fetch = fetch;
  }

  /** This page's number (1-based). */
  get page(): number {
    return Number(this.pagination.page ?? 1);
  }

  get limit(): number {
    return Number(this.pagination.limit ?? this.data.length);
  }

  /** How many items all pages hold together. */
  get total(): number {
    return Number(this.pagination.total ?? this.data.length);
  }

  get totalPages(): number {
    return Number(this.pagination.totalPages ?? (this.data.length ? 1 : 0));
  }

  hasNextPage(): boolean {
    if (typeof this.pagination.hasNextPage === 'boolean') return this.pagination.hasNextPage;
    return Boolean(this.links.next);
  }

  hasPrevPage(): boolean {
    if (typeof this.pagination.hasPrevPage === 'boolean') return this.pagination.hasPrevPage;
    return this.page > 1;
  }

  /** The following page, or null on the last one. */
  async nextPage(): Promise<Page<T> | null> {
    if (!this.hasNextPage() || !this.#fetch) return null;
    return this.#fetch(this.page + 1);
  }

  /** This page and every following one. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> | null = this;
    while (page) {
      yield page;
      if (!page.data.length) return;
      page = await page.nextPage();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }

  /** Every item of this page and the following ones, in an array (mind the size of the list). */
  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }
}

/**
 * What a list method returns: await it for the first `Page`, or iterate it with `for await` for every
 * item of every page.
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  readonly #promise: Promise<Page<T>>;

  constructor(promise: Promise<Page<T>>) {
    this.#promise = promise;
  }

  then<A = Page<T>, B = never>(
    onfulfilled?: ((value: Page<T>) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page<T> | B> {
    return this.#promise.catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<T>> {
    return this.#promise.finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'PagePromise';
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.#promise;
  }
}

/** A batch of installation log lines and the cursor to ask for the lines after them. */
export interface LogPage<T> {
  data: T[];
  nextCursor: string | undefined;
  hasMore: boolean;
  raw: Record<string, unknown>;
}
