/** `client.reviews`: ratings and reviews of plugins, votes, reports and moderation. */

import type { RequestOptions } from '../client.js';
import type { PagePromise } from '../pagination.js';
import type {
  DataOf, JsonObject, ListReviewsParams, ModerationParams, ModerationReview, Review, ReviewCreate, ReviewUpdate,
} from '../types.js';
import { seg } from '../util.js';
import { Resource } from './base.js';

export class ReviewsResource extends Resource {
  /** `GET /plugins/{pluginId}/reviews`: sort `recent` | `helpful` | `rating`, filter by `rating`; `mine: true` keeps the caller's own. */
  list(pluginId: string, params: ListReviewsParams = {}, options?: RequestOptions): PagePromise<Review> {
    return this._page<Review>(`/plugins/${seg(pluginId)}/reviews`, params as Record<string, unknown>, options);
  }

  /** The caller's own review of a plugin (hidden or not), or `null`: `GET /plugins/{pluginId}/reviews?mine=true`. */
  async mine(pluginId: string, options?: RequestOptions): Promise<Review | null> {
    const page = await this.list(pluginId, { mine: true, limit: 1 }, options);
    return page.data[0] ?? null;
  }

  /** `GET /reviews` (admin): reviews across plugins, each with its `plugin`; `status` `reported` | `hidden` | `visible`, sort `reports` by default. */
  moderation(params: ModerationParams = {}, options?: RequestOptions): PagePromise<ModerationReview> {
    return this._page<ModerationReview>('/reviews', params as Record<string, unknown>, options);
  }

  /** `POST /plugins/{pluginId}/reviews`: one review per account and plugin (a second is a `ConflictError`). */
  create(pluginId: string, body: ReviewCreate, options?: RequestOptions): Promise<Review> {
    return this._data('POST', `/plugins/${seg(pluginId)}/reviews`, { json: body, ...options });
  }

  /** `GET /reviews/{reviewId}`. */
  get(reviewId: string, options?: RequestOptions): Promise<Review> {
    return this._data('GET', `/reviews/${seg(reviewId)}`, options);
  }

  /** `PATCH /reviews/{reviewId}`: your own review's `rating`, `title` or `review`. */
  update(reviewId: string, body: ReviewUpdate, options?: RequestOptions): Promise<Review> {
    return this._data('PATCH', `/reviews/${seg(reviewId)}`, { json: body, ...options });
  }

  /** `DELETE /reviews/{reviewId}`: remove your own review. */
  async delete(reviewId: string, options?: RequestOptions): Promise<void> {
    await this._client.request({ method: 'DELETE', path: `/reviews/${seg(reviewId)}`, ...options });
  }

  /** `POST /reviews/{reviewId}/helpful`: vote once (never on your own review). */
  helpful(reviewId: string, options?: RequestOptions): Promise<DataOf<'/reviews/{review_id}/helpful', 'post'>> {
    return this._data('POST', `/reviews/${seg(reviewId)}/helpful`, options);
  }

  /** `POST /reviews/{reviewId}/report`: flag a review for the moderators. */
  report(reviewId: string, reason: string, extra: JsonObject = {}, options?: RequestOptions): Promise<DataOf<'/reviews/{review_id}/report', 'post'>> {
    return this._data('POST', `/reviews/${seg(reviewId)}/report`, { json: { reason, ...extra }, ...options });
  }

  /** `POST /reviews/{reviewId}/hide` (admin). */
  hide(reviewId: string, reason?: string, options?: RequestOptions): Promise<DataOf<'/reviews/{review_id}/hide', 'post'>> {
    return this._data('POST', `/reviews/${seg(reviewId)}/hide`, { json: reason === undefined ? {} : { reason }, ...options });
  }

  /** `POST /reviews/{reviewId}/restore` (admin). */
  restore(reviewId: string, options?: RequestOptions): Promise<DataOf<'/reviews/{review_id}/restore', 'post'>> {
    return this._data('POST', `/reviews/${seg(reviewId)}/restore`, options);
  }
}
