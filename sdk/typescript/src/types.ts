/** Request and response types of each endpoint, read from the generated OpenAPI types (generated/openapi.ts). */

import type { components, paths } from './generated/openapi.js';

export type { components, paths };

/** A JSON object whose fields the document does not describe. */
export type JsonObject = { [key: string]: unknown };

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Prefix = '/api/marketplace/v1';

/** The operation of a public API path (written without `/api/marketplace/v1`) and method. */
export type Operation<P extends string, M extends Method> = `${Prefix}${P}` extends keyof paths
  ? NonNullable<paths[`${Prefix}${P}`][M]>
  : never;

type Or<T, Fallback> = [T] extends [never] ? Fallback : unknown extends T ? Fallback : T;

/** The query parameters of an operation. */
export type QueryOf<P extends string, M extends Method> = Or<
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never,
  Record<string, never>
>;

/** The JSON request body of an operation. */
export type BodyOf<P extends string, M extends Method> = Or<
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never,
  JsonObject
>;

type SuccessCode = 200 | 201 | 202;

/** The JSON body of an operation's success response. */
export type ResponseOf<P extends string, M extends Method> = Or<
  Operation<P, M> extends { responses: infer R }
    ? R[Extract<keyof R, SuccessCode>] extends infer S
      ? S extends { content: { 'application/json': infer B } }
        ? B
        : never
      : never
    : never,
  JsonObject
>;

/** The `data` member of an operation's success response. */
export type DataOf<P extends string, M extends Method> = Or<
  ResponseOf<P, M> extends { data?: infer D } ? NonNullable<D> : never,
  JsonObject
>;

/** One item of the `data` list of a list operation. */
export type ItemOf<P extends string, M extends Method> = Or<
  DataOf<P, M> extends readonly (infer I)[] ? I : never,
  JsonObject
>;

type Schemas = components['schemas'];

export type Plugin = ItemOf<'/plugins', 'get'>;
export type PluginDetails = DataOf<'/plugins/{plugin_id}', 'get'>;
export type PluginVersion = ItemOf<'/plugins/{plugin_id}/versions', 'get'>;
export type PluginStats = DataOf<'/plugins/{plugin_id}/stats', 'get'>;
export type Count = ItemOf<'/categories', 'get'>;
export type ListPluginsParams = Omit<QueryOf<'/plugins', 'get'>, 'tags'> & { tags?: string | readonly string[] };
export type SearchRequest = Schemas['Search'];
export type SearchFilters = Schemas['SearchFilters'];
export type InstallRequest = BodyOf<'/plugins/{plugin_id}/install', 'post'>;
export type InstallAccepted = DataOf<'/plugins/{plugin_id}/install', 'post'>;
export type Installation = DataOf<'/installations/{installation_id}', 'get'>;
export type ListInstallationsParams = QueryOf<'/installations', 'get'>;
export type UpgradeRequest = BodyOf<'/installations/{installation_id}', 'patch'>;
export type LogLine = Schemas['LogLine'];
export type LogsParams = QueryOf<'/installations/{installation_id}/logs', 'get'>;
export type Environment = DataOf<'/environments/{name}', 'get'>;
export type EnvironmentCreate = BodyOf<'/environments', 'post'>;
export type EnvironmentUpdate = BodyOf<'/environments/{name}', 'patch'>;
export type Review = ItemOf<'/plugins/{plugin_id}/reviews', 'get'>;
export type ListReviewsParams = QueryOf<'/plugins/{plugin_id}/reviews', 'get'>;
export type ModerationReview = ItemOf<'/reviews', 'get'>;
export type ModerationParams = QueryOf<'/reviews', 'get'>;
export type ReviewCreate = BodyOf<'/plugins/{plugin_id}/reviews', 'post'>;
export type ReviewUpdate = BodyOf<'/reviews/{review_id}', 'patch'>;
export type Webhook = ItemOf<'/webhooks', 'get'>;
export type WebhookWithSecret = DataOf<'/webhooks', 'post'>;
export type WebhookCreate = BodyOf<'/webhooks', 'post'>;
export type WebhookUpdate = BodyOf<'/webhooks/{webhook_id}', 'patch'>;
export type RotateSecretRequest = BodyOf<'/webhooks/{webhook_id}/rotate-secret', 'post'>;
export type Delivery = ItemOf<'/webhooks/{webhook_id}/deliveries', 'get'>;
export type ListDeliveriesParams = QueryOf<'/webhooks/{webhook_id}/deliveries', 'get'>;
export type RecoverRequest = BodyOf<'/webhooks/{webhook_id}/recover', 'post'>;
export type Account = ItemOf<'/admin/accounts', 'get'>;
export type AccountCreate = BodyOf<'/admin/accounts', 'post'>;
export type AccountUpdate = BodyOf<'/admin/accounts/{account_id}', 'patch'>;
export type Me = DataOf<'/me', 'get'>;
export type ApiKey = ItemOf<'/me/api-keys', 'get'>;
export type ApiKeyCreate = BodyOf<'/me/api-keys', 'post'>;
export type ApiKeyCreated = DataOf<'/me/api-keys', 'post'>;
export type PluginCreate = BodyOf<'/plugins', 'post'>;
export type PluginUpdate = BodyOf<'/plugins/{plugin_id}', 'patch'>;
export type DeprecateRequest = BodyOf<'/plugins/{plugin_id}/deprecate', 'post'>;
