/** `client.accounts`: who am I, my API keys, and account administration (admin). */

import type { RequestOptions } from '../client.js';
import type { PagePromise } from '../pagination.js';
import type { Account, AccountCreate, AccountUpdate, ApiKey, ApiKeyCreate, ApiKeyCreated, Me } from '../types.js';
import { seg } from '../util.js';
import { Resource } from './base.js';

export class AccountsResource extends Resource {
  /** `GET /me`: the account the key belongs to, with its rate limit. */
  me(options?: RequestOptions): Promise<Me> {
    return this._data('GET', '/me', options);
  }

  /** `GET /me/api-keys`: your keys (never their secret part). */
  apiKeys(options?: RequestOptions): Promise<ApiKey[]> {
    return this._data('GET', '/me/api-keys', options);
  }

  /** `POST /me/api-keys`: a new key; `key` in the result is shown only this once. */
  createApiKey(body: ApiKeyCreate, options?: RequestOptions): Promise<ApiKeyCreated> {
    return this._data('POST', '/me/api-keys', { json: body, ...options });
  }

  /** `DELETE /api-keys/{keyId}`. */
  async revokeApiKey(keyId: string, options?: RequestOptions): Promise<void> {
    await this._client.request({ method: 'DELETE', path: `/api-keys/${seg(keyId)}`, ...options });
  }

  /** `POST /admin/accounts` (admin): role `user` | `publisher` | `admin`. */
  create(body: AccountCreate, options?: RequestOptions): Promise<Account> {
    return this._data('POST', '/admin/accounts', { json: body, ...options });
  }

  /** `GET /admin/accounts` (admin). */
  list(params: { page?: number; limit?: number } = {}, options?: RequestOptions): PagePromise<Account> {
    return this._page<Account>('/admin/accounts', params, options);
  }

  /** `GET /admin/accounts/{accountId}` (admin). */
  get(accountId: string, options?: RequestOptions): Promise<Account> {
    return this._data('GET', `/admin/accounts/${seg(accountId)}`, options);
  }

  /** `PATCH /admin/accounts/{accountId}` (admin). */
  update(accountId: string, body: AccountUpdate, options?: RequestOptions): Promise<Account> {
    return this._data('PATCH', `/admin/accounts/${seg(accountId)}`, { json: body, ...options });
  }

  /** `POST /admin/accounts/{accountId}/api-keys` (admin): a key for another account, shown once as `key`. */
  createAccountKey(accountId: string, body: ApiKeyCreate, options?: RequestOptions): Promise<ApiKeyCreated> {
    return this._data('POST', `/admin/accounts/${seg(accountId)}/api-keys`, { json: body, ...options });
  }
}
