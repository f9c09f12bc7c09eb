package marketplace

import "context"

// WebhooksService manages webhook subscriptions (client.Webhooks). To check the requests you
// receive, see VerifyWebhook and WebhookMiddleware.
type WebhooksService struct{ client *Client }

func webhookPath(id string) string { return "/webhooks/" + seg(id) }

// Create is CreateContext with context.Background().
func (s *WebhooksService) Create(webhook *WebhookCreate) (*WebhookWithSecret, error) {
	return s.CreateContext(context.Background(), webhook)
}

// CreateContext subscribes a URL to events (POST /webhooks). Without a Secret the server
// generates one (whsec_…), returned only here.
func (s *WebhooksService) CreateContext(ctx context.Context, webhook *WebhookCreate) (*WebhookWithSecret, error) {
	out := &WebhookWithSecret{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: "/webhooks", body: webhook}, out)
	return finish(out, &out.Response, resp, err)
}

// List is ListContext with context.Background().
func (s *WebhooksService) List(opts *PageOptions) (*WebhookPage, error) {
	return s.ListContext(context.Background(), opts)
}

// ListContext returns one page of the caller's subscriptions (every one for admins).
func (s *WebhooksService) ListContext(ctx context.Context, opts *PageOptions) (*WebhookPage, error) {
	out := &WebhookPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/webhooks", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// ListPager walks every subscription.
func (s *WebhooksService) ListPager(ctx context.Context, opts *PageOptions) *Pager[WebhookData] {
	return pagerOf[WebhookData](ctx, opts, s.ListContext)
}

// Get is GetContext with context.Background().
func (s *WebhooksService) Get(webhookID string) (*Webhook, error) {
	return s.GetContext(context.Background(), webhookID)
}

// GetContext returns one subscription.
func (s *WebhooksService) GetContext(ctx context.Context, webhookID string) (*Webhook, error) {
	out := &Webhook{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: webhookPath(webhookID)}, out)
	return finish(out, &out.Response, resp, err)
}

// Update is UpdateContext with context.Background().
func (s *WebhooksService) Update(webhookID string, changes *WebhookUpdate) (*Webhook, error) {
	return s.UpdateContext(context.Background(), webhookID, changes)
}

// UpdateContext changes a subscription (URL, events, active, plugin ids, description).
func (s *WebhooksService) UpdateContext(ctx context.Context, webhookID string, changes *WebhookUpdate) (*Webhook, error) {
	out := &Webhook{}
	resp, err := s.client.getData(ctx, &request{method: "PATCH", path: webhookPath(webhookID), body: changes}, out)
	return finish(out, &out.Response, resp, err)
}

// Delete is DeleteContext with context.Background().
func (s *WebhooksService) Delete(webhookID string) (*Response, error) {
	return s.DeleteContext(context.Background(), webhookID)
}

// DeleteContext removes a subscription.
func (s *WebhooksService) DeleteContext(ctx context.Context, webhookID string) (*Response, error) {
	return s.client.do(ctx, &request{method: "DELETE", path: webhookPath(webhookID)}, nil)
}

// RotateSecret is RotateSecretContext with context.Background().
func (s *WebhooksService) RotateSecret(webhookID string, opts *RotateSecret) (*WebhookWithSecret, error) {
	return s.RotateSecretContext(context.Background(), webhookID, opts)
}

// RotateSecretContext gives a subscription a new secret (generated when opts.Secret is empty);
// the old one keeps signing during the grace period. The new secret is shown only this once.
func (s *WebhooksService) RotateSecretContext(ctx context.Context, webhookID string, opts *RotateSecret) (*WebhookWithSecret, error) {
	if opts == nil {
		opts = &RotateSecret{}
	}
	out := &WebhookWithSecret{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: webhookPath(webhookID) + "/rotate-secret", body: opts}, out)
	return finish(out, &out.Response, resp, err)
}

// Ping is PingContext with context.Background().
func (s *WebhooksService) Ping(webhookID string) (*Delivery, error) {
	return s.PingContext(context.Background(), webhookID)
}

// PingContext sends a test delivery and returns it (its id is the webhook-id header the receiver gets).
func (s *WebhooksService) PingContext(ctx context.Context, webhookID string) (*Delivery, error) {
	out := &Delivery{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: webhookPath(webhookID) + "/ping"}, out)
	return finish(out, &out.Response, resp, err)
}

// DeliveryListOptions filter a webhook's deliveries.
type DeliveryListOptions struct {
	Page   int    `url:"page"`
	Limit  int    `url:"limit"`
	Status string `url:"status"` // pending, succeeded, failed
	Event  string `url:"event"`  // an event type
}

// Deliveries is DeliveriesContext with context.Background().
func (s *WebhooksService) Deliveries(webhookID string, opts *DeliveryListOptions) (*DeliveryPage, error) {
	return s.DeliveriesContext(context.Background(), webhookID, opts)
}

// DeliveriesContext returns one page of a webhook's deliveries, newest first, each with its attempts.
func (s *WebhooksService) DeliveriesContext(ctx context.Context, webhookID string, opts *DeliveryListOptions) (*DeliveryPage, error) {
	out := &DeliveryPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: webhookPath(webhookID) + "/deliveries", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// Delivery is DeliveryContext with context.Background().
func (s *WebhooksService) Delivery(webhookID, deliveryID string) (*Delivery, error) {
	return s.DeliveryContext(context.Background(), webhookID, deliveryID)
}

// DeliveryContext returns one delivery with its attempts.
func (s *WebhooksService) DeliveryContext(ctx context.Context, webhookID, deliveryID string) (*Delivery, error) {
	out := &Delivery{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: webhookPath(webhookID) + "/deliveries/" + seg(deliveryID)}, out)
	return finish(out, &out.Response, resp, err)
}

// Redeliver is RedeliverContext with context.Background().
func (s *WebhooksService) Redeliver(webhookID, deliveryID string) (*Delivery, error) {
	return s.RedeliverContext(context.Background(), webhookID, deliveryID)
}

// RedeliverContext sends a delivery again (same delivery id, so receivers can dedupe).
func (s *WebhooksService) RedeliverContext(ctx context.Context, webhookID, deliveryID string) (*Delivery, error) {
	out := &Delivery{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: webhookPath(webhookID) + "/deliveries/" + seg(deliveryID) + "/redeliver"}, out)
	return finish(out, &out.Response, resp, err)
}

// Recover is RecoverContext with context.Background().
func (s *WebhooksService) Recover(webhookID string, window *Recover) (*RecoverResult, error) {
	return s.RecoverContext(context.Background(), webhookID, window)
}

// RecoverContext sends again every failed delivery created in the window (Since, optional Until: ISO 8601).
func (s *WebhooksService) RecoverContext(ctx context.Context, webhookID string, window *Recover) (*RecoverResult, error) {
	out := &RecoverResult{}
	resp, err := s.client.do(ctx, &request{method: "POST", path: webhookPath(webhookID) + "/recover", body: window}, out)
	return finish(out, &out.Response, resp, err)
}
