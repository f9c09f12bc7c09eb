package marketplace

import "context"

// ReviewsService reads, writes and moderates reviews (client.Reviews).
type ReviewsService struct{ client *Client }

// ReviewListOptions sort and filter a plugin's reviews.
type ReviewListOptions struct {
	Page   int    `url:"page"`
	Limit  int    `url:"limit"`
	Sort   string `url:"sort"`   // recent, helpful, rating
	Order  string `url:"order"`  // asc, desc
	Rating int    `url:"rating"` // only reviews with this rating
	Mine   bool   `url:"mine"`   // only the caller's own review (hidden or not); needs an API key
}

// ModerationListOptions filter and sort the administrators' queue (GET /reviews).
type ModerationListOptions struct {
	Page     int    `url:"page"`
	Limit    int    `url:"limit"`
	Status   string `url:"status"`   // reported (visible and reported at least once), hidden, visible; every review when empty
	PluginID string `url:"pluginId"` // only this plugin's reviews (its id or name)
	Sort     string `url:"sort"`     // reports (the default), recent, helpful, rating
	Order    string `url:"order"`    // asc, desc
}

func reviewPath(id string) string { return "/reviews/" + seg(id) }

// List is ListContext with context.Background().
func (s *ReviewsService) List(pluginID string, opts *ReviewListOptions) (*ReviewPage, error) {
	return s.ListContext(context.Background(), pluginID, opts)
}

// ListContext returns one page of a plugin's reviews (GET /plugins/{pluginId}/reviews).
func (s *ReviewsService) ListContext(ctx context.Context, pluginID string, opts *ReviewListOptions) (*ReviewPage, error) {
	out := &ReviewPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/plugins/" + seg(pluginID) + "/reviews", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// ListPager walks every review of a plugin.
func (s *ReviewsService) ListPager(ctx context.Context, pluginID string, opts *ReviewListOptions) *Pager[ReviewData] {
	list := func(ctx context.Context, o *ReviewListOptions) (*ReviewPage, error) {
		return s.ListContext(ctx, pluginID, o)
	}
	return pagerOf[ReviewData](ctx, opts, list)
}

// ListAll calls fn with every review of a plugin.
func (s *ReviewsService) ListAll(ctx context.Context, pluginID string, opts *ReviewListOptions, fn func(ReviewData) error) error {
	return each(s.ListPager(ctx, pluginID, opts), fn)
}

// Mine is MineContext with context.Background().
func (s *ReviewsService) Mine(pluginID string) (*Review, error) {
	return s.MineContext(context.Background(), pluginID)
}

// MineContext returns the caller's own review of a plugin (hidden or not), or nil and no error when there is
// none (GET /plugins/{pluginId}/reviews?mine=true).
func (s *ReviewsService) MineContext(ctx context.Context, pluginID string) (*Review, error) {
	page, err := s.ListContext(ctx, pluginID, &ReviewListOptions{Mine: true, Limit: 1})
	if err != nil || len(page.Data) == 0 {
		return nil, err
	}
	return &Review{ReviewData: page.Data[0], Response: page.Response}, nil
}

// Moderation is ModerationContext with context.Background().
func (s *ReviewsService) Moderation(opts *ModerationListOptions) (*ModerationPage, error) {
	return s.ModerationContext(context.Background(), opts)
}

// ModerationContext returns one page of reviews across every plugin, each with its plugin (GET /reviews, admin).
func (s *ReviewsService) ModerationContext(ctx context.Context, opts *ModerationListOptions) (*ModerationPage, error) {
	out := &ModerationPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/reviews", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// ModerationPager walks every review of the moderation queue.
func (s *ReviewsService) ModerationPager(ctx context.Context, opts *ModerationListOptions) *Pager[ModerationReview] {
	return pagerOf[ModerationReview](ctx, opts, s.ModerationContext)
}

// Create is CreateContext with context.Background().
func (s *ReviewsService) Create(pluginID string, review *ReviewCreate) (*Review, error) {
	return s.CreateContext(context.Background(), pluginID, review)
}

// CreateContext writes the caller's review of a plugin (one per account and plugin: a second is a conflict).
func (s *ReviewsService) CreateContext(ctx context.Context, pluginID string, review *ReviewCreate) (*Review, error) {
	out := &Review{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: "/plugins/" + seg(pluginID) + "/reviews", body: review}, out)
	return finish(out, &out.Response, resp, err)
}

// Get is GetContext with context.Background().
func (s *ReviewsService) Get(reviewID string) (*Review, error) {
	return s.GetContext(context.Background(), reviewID)
}

// GetContext returns one review (GET /reviews/{reviewId}).
func (s *ReviewsService) GetContext(ctx context.Context, reviewID string) (*Review, error) {
	out := &Review{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: reviewPath(reviewID)}, out)
	return finish(out, &out.Response, resp, err)
}

// Update is UpdateContext with context.Background().
func (s *ReviewsService) Update(reviewID string, changes *ReviewUpdate) (*Review, error) {
	return s.UpdateContext(context.Background(), reviewID, changes)
}

// UpdateContext changes the caller's own review (PATCH /reviews/{reviewId}).
func (s *ReviewsService) UpdateContext(ctx context.Context, reviewID string, changes *ReviewUpdate) (*Review, error) {
	out := &Review{}
	resp, err := s.client.getData(ctx, &request{method: "PATCH", path: reviewPath(reviewID), body: changes}, out)
	return finish(out, &out.Response, resp, err)
}

// Delete is DeleteContext with context.Background().
func (s *ReviewsService) Delete(reviewID string) (*Response, error) {
	return s.DeleteContext(context.Background(), reviewID)
}

// DeleteContext removes the caller's own review.
func (s *ReviewsService) DeleteContext(ctx context.Context, reviewID string) (*Response, error) {
	return s.client.do(ctx, &request{method: "DELETE", path: reviewPath(reviewID)}, nil)
}

// Helpful is HelpfulContext with context.Background().
func (s *ReviewsService) Helpful(reviewID string) (*Review, error) {
	return s.HelpfulContext(context.Background(), reviewID)
}

// HelpfulContext votes a review helpful (once, never on one's own review).
func (s *ReviewsService) HelpfulContext(ctx context.Context, reviewID string) (*Review, error) {
	out := &Review{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: reviewPath(reviewID) + "/helpful"}, out)
	return finish(out, &out.Response, resp, err)
}

// Report is ReportContext with context.Background().
func (s *ReviewsService) Report(reviewID, reason string) (*ReportResult, error) {
	return s.ReportContext(context.Background(), reviewID, reason)
}

// ReportContext flags a review for the moderators.
func (s *ReviewsService) ReportContext(ctx context.Context, reviewID, reason string) (*ReportResult, error) {
	out := &ReportResult{}
	resp, err := s.client.do(ctx, &request{method: "POST", path: reviewPath(reviewID) + "/report", body: Report{Reason: reason}}, out)
	return finish(out, &out.Response, resp, err)
}

// Hide is HideContext with context.Background().
func (s *ReviewsService) Hide(reviewID, reason string) (*Review, error) {
	return s.HideContext(context.Background(), reviewID, reason)
}

// HideContext hides a review from the public lists (admin).
func (s *ReviewsService) HideContext(ctx context.Context, reviewID, reason string) (*Review, error) {
	out := &Review{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: reviewPath(reviewID) + "/hide", body: Moderation{Reason: reason}}, out)
	return finish(out, &out.Response, resp, err)
}

// Restore is RestoreContext with context.Background().
func (s *ReviewsService) Restore(reviewID string) (*Review, error) {
	return s.RestoreContext(context.Background(), reviewID)
}

// RestoreContext shows a hidden review again (admin).
func (s *ReviewsService) RestoreContext(ctx context.Context, reviewID string) (*Review, error) {
	out := &Review{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: reviewPath(reviewID) + "/restore"}, out)
	return finish(out, &out.Response, resp, err)
}
