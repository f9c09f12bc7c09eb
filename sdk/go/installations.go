package marketplace

import (
	"context"
	"fmt"
	"time"
)

// InstallationsService follows and manages installations (client.Installations).
type InstallationsService struct{ client *Client }

// FinalStatuses are the statuses after which an installation no longer changes by itself.
var FinalStatuses = map[string]bool{"completed": true, "failed": true, "cancelled": true, "uninstalled": true}

// InstallationListOptions filter GET /installations.
type InstallationListOptions struct {
	Page        int    `url:"page"`
	Limit       int    `url:"limit"`
	Plugin      string `url:"plugin"` // a plugin id or name
	Environment string `url:"environment"`
	Namespace   string `url:"namespace"`
	Status      string `url:"status"`    // one status, or several separated by commas
	AccountID   string `url:"accountId"` // admins only
}

func installationPath(id string) string { return "/installations/" + seg(id) }

// Get is GetContext with context.Background().
func (s *InstallationsService) Get(installationID string) (*Installation, error) {
	return s.GetContext(context.Background(), installationID)
}

// GetContext returns an installation's status, progress and, on failure, its error.
func (s *InstallationsService) GetContext(ctx context.Context, installationID string) (*Installation, error) {
	out := &Installation{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: installationPath(installationID)}, out)
	return finish(out, &out.Response, resp, err)
}

// List is ListContext with context.Background().
func (s *InstallationsService) List(opts *InstallationListOptions) (*InstallationPage, error) {
	return s.ListContext(context.Background(), opts)
}

// ListContext returns one page of the caller's installations (every one for admins).
func (s *InstallationsService) ListContext(ctx context.Context, opts *InstallationListOptions) (*InstallationPage, error) {
	out := &InstallationPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/installations", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// ListPager walks every installation matching opts.
func (s *InstallationsService) ListPager(ctx context.Context, opts *InstallationListOptions) *Pager[InstallationData] {
	return pagerOf[InstallationData](ctx, opts, s.ListContext)
}

// ListAll calls fn with every installation matching opts.
func (s *InstallationsService) ListAll(ctx context.Context, opts *InstallationListOptions, fn func(InstallationData) error) error {
	return each(s.ListPager(ctx, opts), fn)
}

// LogOptions select log lines: those after Cursor (from the start without one), at most Limit.
type LogOptions struct {
	Cursor string `url:"cursor"`
	Limit  int    `url:"limit"`
}

// Logs is LogsContext with context.Background().
func (s *InstallationsService) Logs(installationID string, opts *LogOptions) (*LogPage, error) {
	return s.LogsContext(context.Background(), installationID, opts)
}

// LogsContext returns log lines of an installation; pass Pagination.NextCursor as Cursor to get
// only the lines written since.
func (s *InstallationsService) LogsContext(ctx context.Context, installationID string, opts *LogOptions) (*LogPage, error) {
	out := &LogPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: installationPath(installationID) + "/logs", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// Cancel is CancelContext with context.Background().
func (s *InstallationsService) Cancel(installationID string) (*Installation, error) {
	return s.CancelContext(context.Background(), installationID)
}

// CancelContext stops an installation at its next step and rolls it back; a finished one is a
// conflict (IsConflict).
func (s *InstallationsService) CancelContext(ctx context.Context, installationID string) (*Installation, error) {
	out := &Installation{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: installationPath(installationID) + "/cancel"}, out)
	return finish(out, &out.Response, resp, err)
}

// Upgrade is UpgradeContext with context.Background().
func (s *InstallationsService) Upgrade(installationID string, opts *Upgrade) (*InstallResult, error) {
	return s.UpgradeContext(context.Background(), installationID, opts)
}

// UpgradeContext moves an installation to another version and/or configuration
// (PATCH /installations/{installationId}); follow it with Wait.
func (s *InstallationsService) UpgradeContext(ctx context.Context, installationID string, opts *Upgrade) (*InstallResult, error) {
	if opts == nil {
		opts = &Upgrade{}
	}
	out := &InstallResult{}
	resp, err := s.client.getData(ctx, &request{method: "PATCH", path: installationPath(installationID), body: opts}, out)
	return finish(out, &out.Response, resp, err)
}

// Uninstall is UninstallContext with context.Background().
func (s *InstallationsService) Uninstall(installationID string) (*InstallResult, error) {
	return s.UninstallContext(context.Background(), installationID)
}

// UninstallContext removes the plugin from its environment (DELETE /installations/{installationId}).
func (s *InstallationsService) UninstallContext(ctx context.Context, installationID string) (*InstallResult, error) {
	out := &InstallResult{}
	resp, err := s.client.getData(ctx, &request{method: "DELETE", path: installationPath(installationID)}, out)
	return finish(out, &out.Response, resp, err)
}

// WaitOptions tune Installations.Wait.
type WaitOptions struct {
	// PollInterval is the time between two polls (default 1 s).
	PollInterval time.Duration
	// OnProgress is called with the installation each time its status or progress changes.
	OnProgress func(*Installation)
	// OnLog is called with each new log line, in order.
	OnLog func(LogLine)
}

// Wait polls an installation until it reaches a final status (completed, failed, cancelled,
// uninstalled) and returns it; a failed or cancelled one is returned without an error (check
// Status). Give ctx a deadline to bound the wait: when it expires, Wait returns the last state
// seen together with the context's error.
func (s *InstallationsService) Wait(ctx context.Context, installationID string, opts *WaitOptions) (*Installation, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	o := WaitOptions{}
	if opts != nil {
		o = *opts
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	cursor := ""
	seen := ""
	var last *Installation
	for {
		current, err := s.GetContext(ctx, installationID)
		if err != nil {
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			return last, err
		}
		last = current
		if o.OnLog != nil {
			if cursor, err = s.drainLogs(ctx, installationID, cursor, o.OnLog); err != nil {
				return last, err
			}
		}
		state := current.Status
		if current.Progress != nil {
			state += fmt.Sprintf("/%d/%d/%s", current.Progress.Current, current.Progress.Percentage, current.Progress.CurrentStep)
		}
		if o.OnProgress != nil && state != seen {
			o.OnProgress(current)
		}
		seen = state
		if FinalStatuses[current.Status] {
			if o.OnLog != nil { // lines written between the last poll and the end
				if _, err := s.drainLogs(ctx, installationID, cursor, o.OnLog); err != nil {
					return last, err
				}
			}
			return current, nil
		}
		if err := s.client.sleep(ctx, o.PollInterval); err != nil {
			return last, err
		}
	}
}

func (s *InstallationsService) drainLogs(ctx context.Context, id, cursor string, onLog func(LogLine)) (string, error) {
	for {
		batch, err := s.LogsContext(ctx, id, &LogOptions{Cursor: cursor})
		if err != nil {
			return cursor, err
		}
		for _, line := range batch.Data {
			onLog(line)
		}
		next := ""
		if batch.Pagination != nil {
			next = batch.Pagination.NextCursor
		}
		if len(batch.Data) == 0 || next == "" || next == cursor {
			if next != "" {
				cursor = next
			}
			return cursor, nil
		}
		cursor = next
	}
}
