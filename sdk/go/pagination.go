package marketplace

import "context"

// Pager walks every item of a list, page after page, fetching each page when it is needed:
//
//	pager := client.Plugins.ListPager(ctx, &marketplace.ListOptions{Category: "monitoring"})
//	for pager.Next() {
//	    plugin := pager.Value()
//	}
//	if err := pager.Err(); err != nil { … }
type Pager[T any] struct {
	ctx     context.Context
	fetch   func(ctx context.Context, page int) ([]T, bool, *Response, error)
	page    int
	items   []T
	index   int
	more    bool
	started bool
	err     error
	resp    *Response
}

func newPager[T any](ctx context.Context, first int, fetch func(ctx context.Context, page int) ([]T, bool, *Response, error)) *Pager[T] {
	if ctx == nil {
		ctx = context.Background()
	}
	if first < 1 {
		first = 1
	}
	return &Pager[T]{ctx: ctx, fetch: fetch, page: first}
}

// Next advances to the next item, fetching the next page when this one is used up. It returns
// false at the end of the list or on an error (see Err).
func (p *Pager[T]) Next() bool {
	if p.err != nil {
		return false
	}
	for p.index+1 >= len(p.items) {
		if p.started && !p.more {
			p.index = len(p.items)
			return false
		}
		if p.started {
			p.page++
		}
		items, more, resp, err := p.fetch(p.ctx, p.page)
		p.started = true
		if err != nil {
			p.err = err
			return false
		}
		p.items, p.index, p.more, p.resp = items, -1, more && len(items) > 0, resp
		if len(items) == 0 {
			return false
		}
	}
	p.index++
	return true
}

// Value is the current item (valid after Next returned true).
func (p *Pager[T]) Value() T {
	var zero T
	if p.index < 0 || p.index >= len(p.items) {
		return zero
	}
	return p.items[p.index]
}

// Err is the error that stopped the walk, or nil at the end of the list.
func (p *Pager[T]) Err() error { return p.err }

// Page is the number of the page the current item is on.
func (p *Pager[T]) Page() int { return p.page }

// Response is the metadata of the last page fetched.
func (p *Pager[T]) Response() *Response { return p.resp }

// each calls fn with every item of the pager; an error from fn stops the walk and is returned.
func each[T any](p *Pager[T], fn func(T) error) error {
	for p.Next() {
		if err := fn(p.Value()); err != nil {
			return err
		}
	}
	return p.Err()
}

// A Pager walks a list through two small contracts, so that every ListPager is one line:
// the list's options say where their Page and Limit are, and its page type says what it holds.
type listOptions[O any] interface {
	*O
	paging() (page, limit *int)
}

type listPage[T any] interface {
	listed() (items []T, more bool, resp *Response)
}

// pagerOf walks the list that list returns page by page, from opts.Page on, with 100 items a page
// unless opts.Limit says otherwise; opts itself is copied, never changed.
func pagerOf[T any, O any, OP listOptions[O], P listPage[T]](ctx context.Context, opts OP, list func(context.Context, OP) (P, error)) *Pager[T] {
	base := new(O)
	if opts != nil {
		*base = *opts
	}
	first, limit := OP(base).paging()
	if *limit == 0 {
		*limit = 100
	}
	return newPager(ctx, *first, func(ctx context.Context, page int) ([]T, bool, *Response, error) {
		o := *base
		at, _ := OP(&o).paging()
		*at = page
		p, err := list(ctx, &o)
		if err != nil {
			return nil, false, nil, err
		}
		items, more, resp := p.listed()
		return items, more, resp, nil
	})
}

func (o *ListOptions) paging() (*int, *int)             { return &o.Page, &o.Limit }
func (o *PageOptions) paging() (*int, *int)             { return &o.Page, &o.Limit }
func (o *InstallationListOptions) paging() (*int, *int) { return &o.Page, &o.Limit }
func (o *ReviewListOptions) paging() (*int, *int)       { return &o.Page, &o.Limit }
func (o *ModerationListOptions) paging() (*int, *int)   { return &o.Page, &o.Limit }

func (p *PluginPage) listed() ([]PluginSummaryDoc, bool, *Response) {
	return p.Data, pageHasNext(p.Pagination, p.Links), p.Response
}
func (p *InstallationPage) listed() ([]InstallationData, bool, *Response) {
	return p.Data, pageHasNext(p.Pagination, p.Links), p.Response
}
func (p *ReviewPage) listed() ([]ReviewData, bool, *Response) {
	return p.Data, pageHasNext(p.Pagination, p.Links), p.Response
}
func (p *ModerationPage) listed() ([]ModerationReview, bool, *Response) {
	return p.Data, pageHasNext(p.Pagination, p.Links), p.Response
}
func (p *WebhookPage) listed() ([]WebhookData, bool, *Response) {
	return p.Data, pageHasNext(p.Pagination, p.Links), p.Response
}

// pageHasNext reads a list response's pagination block (hasNextPage), else whether links name a next page.
func pageHasNext(block *Pagination, links *Links) bool {
	if block != nil {
		return block.HasNextPage
	}
	return links != nil && links.Next != ""
}
