/** @backstage/marketplace-sdk: the TypeScript client of the Plugin Marketplace API. */

export { API_PREFIX, DEFAULT_BASE_URL, MarketplaceClient, normalizeBaseUrl } from './client.js';
export type { ClientOptions, Fetch, HttpRequest, RequestOptions } from './client.js';
export * from './errors.js';
export { Page, PagePromise } from './pagination.js';
export type { LogPage, PageBody, PaginationBlock } from './pagination.js';
export type { AccountsResource } from './resources/accounts.js';
export { FAILED_STATUSES, FINAL_STATUSES, installationId } from './resources/installations.js';
export type { EnvironmentsResource, InstallationRef, InstallationsResource, WaitOptions } from './resources/installations.js';
export type { Download, DownloadOptions, InstallOptions, PluginsResource, SearchParams } from './resources/plugins.js';
export type { FileData, FileInput, PublisherResource, VersionMetadata } from './resources/publisher.js';
export type { ReviewsResource } from './resources/reviews.js';
export type { WebhooksResource } from './resources/webhooks.js';
export type * from './types.js';
export type { RateLimit } from './util.js';
export { DEFAULT_TOLERANCE_SECONDS, SECRET_PREFIX, secretKey, signWebhook, verifyWebhook } from './webhooks.js';
export type { HeadersLike, RawBody, SignWebhookOptions, VerifyWebhookOptions, WebhookSecret } from './webhooks.js';
export { VERSION } from './version.js';
