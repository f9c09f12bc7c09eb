package marketplace

// The values the services return: a generated type of the API document plus the response metadata.
// Fields of both are promoted: plugin.Name, plugin.RequestID, plugin.Rate.Remaining.

// PluginPage is one page of plugins (GET /plugins, POST /plugins/search).
type PluginPage struct {
	PluginListDoc
	*Response `json:"-"`
}

// Plugin is one plugin with every detail.
type Plugin struct {
	PluginDetailDataDoc
	*Response `json:"-"`
}

// VersionPage is one page of a plugin's versions, newest first.
type VersionPage struct {
	VersionListDoc
	*Response `json:"-"`
}

// Version is one version of a plugin with its package (size, sha256, integrity).
type Version struct {
	VersionDoc
	*Response `json:"-"`
}

// PluginStats are a plugin's usage, performance and trends (Data["usage"], …).
type PluginStats struct {
	StatsDoc
	*Response `json:"-"`
}

// CountList is every category or tag with its number of plugins.
type CountList struct {
	CountListDoc
	*Response `json:"-"`
}

// Images is the answer to an image upload.
type Images struct {
	Data      map[string]interface{} `json:"data,omitempty"`
	*Response `json:"-"`
}

// InstallResult is an installation just started (202): follow it with Installations.Wait.
type InstallResult struct {
	Accepted
	*Response `json:"-"`
}

// Installation is an installation job: status, progress and, on failure, the error.
type Installation struct {
	InstallationData
	*Response `json:"-"`
}

// InstallationPage is one page of installations.
type InstallationPage struct {
	InstallationList
	*Response `json:"-"`
}

// LogPage is a batch of an installation's log lines; Pagination.NextCursor asks for the lines after them.
type LogPage struct {
	LogList
	*Response `json:"-"`
}

// Review is one review of a plugin.
type Review struct {
	ReviewData
	*Response `json:"-"`
}

// ReviewPage is one page of a plugin's reviews.
type ReviewPage struct {
	ReviewListResponse
	*Response `json:"-"`
}

// ModerationPage is one page of the administrators' review queue.
type ModerationPage struct {
	ModerationListResponse
	*Response `json:"-"`
}

// ReportResult is the answer to a review report.
type ReportResult struct {
	ReportResponse
	*Response `json:"-"`
}

// Webhook is a webhook subscription.
type Webhook struct {
	WebhookData
	*Response `json:"-"`
}

// WebhookWithSecret is a subscription with its secret, shown only when it is created or rotated.
type WebhookWithSecret struct {
	WebhookWithSecretData
	*Response `json:"-"`
}

// WebhookPage is one page of webhook subscriptions.
type WebhookPage struct {
	WebhookList
	*Response `json:"-"`
}

// Delivery is one delivery of an event to a webhook, with its attempts.
type Delivery struct {
	DeliveryData
	*Response `json:"-"`
}

// DeliveryPage is one page of a webhook's deliveries, newest first.
type DeliveryPage struct {
	DeliveryList
	*Response `json:"-"`
}

// RecoverResult says how many failed deliveries are sent again (Data["recovered"]).
type RecoverResult struct {
	RecoverResultData
	*Response `json:"-"`
}

// Me is the caller's account with its rate limit.
type Me struct {
	MeData
	*Response `json:"-"`
}

// Account is an account (admin).
type Account struct {
	AccountData
	*Response `json:"-"`
}

// AccountPage is one page of accounts (admin).
type AccountPage struct {
	AccountListResponse
	*Response `json:"-"`
}

// APIKey is an API key without its secret part.
type APIKey struct {
	APIKeyData
	*Response `json:"-"`
}

// APIKeyCreated is a new API key; Key is shown only this once.
type APIKeyCreated struct {
	APIKeyCreatedData
	*Response `json:"-"`
}

// APIKeyList is a list of API keys.
type APIKeyList struct {
	APIKeyListResponse
	*Response `json:"-"`
}

// Environment is an environment plugins are installed into.
type Environment struct {
	EnvironmentData
	*Response `json:"-"`
}

// EnvironmentPage is one page of environments.
type EnvironmentPage struct {
	EnvironmentList
	*Response `json:"-"`
}
