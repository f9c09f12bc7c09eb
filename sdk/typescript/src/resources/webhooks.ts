/** `client.webhooks`: subscriptions, their deliveries, secrets, pings and recovery. */

import type { RequestOptions } from '../client.js';
import type { PagePromise } from '../pagination.js';
import type {
  DataOf,
  Delivery,
  ListDeliveriesParams,
  RecoverRequest,
  RotateSecretRequest,
  Webhook,
  WebhookCreate,
  WebhookUpdate,
  WebhookWithSecret,
} from '../types.js';
import { seg } from '../util.js';
import { Resource } from './base.js';

/** Manage webhook subscriptions. To check the requests you receive, see `verifyWebhook`. */
export class WebhooksResource extends Resource {
  /** `POST /webhooks`. Without a `secret` the server generates one (`whsec_...`), returned only here. */
  create(body: WebhookCreate, options?: RequestOptions): Promise<WebhookWithSecret> {
    return this._data('POST', '/webhooks', { json: body, ...options });
  }

  /** `GET /webhooks`: your subscriptions (every one for admins). */
  list(params: { page?: number; limit?: number } = {}, options?: RequestOptions): PagePromise<Webhook> {
    return this._page<Webhook>('/webhooks', params, options);
  }

  /** `GET /webhooks/{webhookId}`. */
  get(webhookId: string, options?: RequestOptions): Promise<Webhook> {
    return this._data('GET', `/webhooks/${seg(webhookId)}`, options);
  }

  /** `PATCH /webhooks/{webhookId}`. */
  update(webhookId: string, body: WebhookUpdate, options?: RequestOptions): Promise<Webhook> {
    return this._data('PATCH', `/webhooks/${seg(webhookId)}`, { json: body, ...options });
  }

  /** `DELETE /webhooks/{webhookId}`. */
  async delete(webhookId: string, options?: RequestOptions): Promise<void> {
    await this._client.request({ method: 'DELETE', path: `/webhooks/${seg(webhookId)}`, ...options });
  }

  /** `POST /webhooks/{webhookId}/rotate-secret`: a new secret (generated when none is given), shown once. */
  rotateSecret(webhookId: string, body: Partial<RotateSecretRequest> = {}, options?: RequestOptions): Promise<DataOf<'/webhooks/{webhook_id}/rotate-secret', 'post'>> {
    return this._data('POST', `/webhooks/${seg(webhookId)}/rotate-secret`, { json: body, ...options });
  }

  /** `POST /webhooks/{webhookId}/ping`: send a test delivery. */
  ping(webhookId: string, options?: RequestOptions): Promise<DataOf<'/webhooks/{webhook_id}/ping', 'post'>> {
    return this._data('POST', `/webhooks/${seg(webhookId)}/ping`, options);
  }

  /** `GET /webhooks/{webhookId}/deliveries`: newest first; `status` pending | succeeded | failed. */
  deliveries(webhookId: string, params: ListDeliveriesParams = {}, options?: RequestOptions): PagePromise<Delivery> {
    return this._page<Delivery>(`/webhooks/${seg(webhookId)}/deliveries`, params as Record<string, unknown>, options);
  }

  /** `GET /webhooks/{webhookId}/deliveries/{deliveryId}`: one delivery with its attempts. */
  delivery(webhookId: string, deliveryId: string, options?: RequestOptions): Promise<DataOf<'/webhooks/{webhook_id}/deliveries/{delivery_id}', 'get'>> {
    return this._data('GET', `/webhooks/${seg(webhookId)}/deliveries/${seg(deliveryId)}`, options);
  }

  /** `POST /webhooks/{webhookId}/deliveries/{deliveryId}/redeliver`. */
  redeliver(webhookId: string, deliveryId: string, options?: RequestOptions): Promise<DataOf<'/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver', 'post'>> {
    return this._data('POST', `/webhooks/${seg(webhookId)}/deliveries/${seg(deliveryId)}/redeliver`, options);
  }

  /** `POST /webhooks/{webhookId}/recover`: resend every failed delivery created since a moment. */
  recover(webhookId: string, body: RecoverRequest, options?: RequestOptions): Promise<DataOf<'/webhooks/{webhook_id}/recover', 'post'>> {
    return this._data('POST', `/webhooks/${seg(webhookId)}/recover`, { json: body, ...options });
  }
}
