package marketplace

import "context"

// MeService is the caller's account and API keys (client.Me).
type MeService struct{ client *Client }

// Get is GetContext with context.Background().
func (s *MeService) Get() (*Me, error) { return s.GetContext(context.Background()) }

// GetContext returns the account the credentials belong to, with its rate limit (GET /me).
func (s *MeService) GetContext(ctx context.Context) (*Me, error) {
	out := &Me{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: "/me"}, out)
	return finish(out, &out.Response, resp, err)
}

// APIKeys is APIKeysContext with context.Background().
func (s *MeService) APIKeys() (*APIKeyList, error) { return s.APIKeysContext(context.Background()) }

// APIKeysContext lists the caller's keys (never their secret part).
func (s *MeService) APIKeysContext(ctx context.Context) (*APIKeyList, error) {
	out := &APIKeyList{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/me/api-keys"}, out)
	return finish(out, &out.Response, resp, err)
}

// CreateAPIKey is CreateAPIKeyContext with context.Background().
func (s *MeService) CreateAPIKey(key *APIKeyCreate) (*APIKeyCreated, error) {
	return s.CreateAPIKeyContext(context.Background(), key)
}

// CreateAPIKeyContext creates a key for the caller; its Key is shown only this once.
func (s *MeService) CreateAPIKeyContext(ctx context.Context, key *APIKeyCreate) (*APIKeyCreated, error) {
	out := &APIKeyCreated{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: "/me/api-keys", body: key}, out)
	return finish(out, &out.Response, resp, err)
}

// RevokeAPIKey is RevokeAPIKeyContext with context.Background().
func (s *MeService) RevokeAPIKey(keyID string) (*Response, error) {
	return s.RevokeAPIKeyContext(context.Background(), keyID)
}

// RevokeAPIKeyContext revokes a key (DELETE /api-keys/{id}).
func (s *MeService) RevokeAPIKeyContext(ctx context.Context, keyID string) (*Response, error) {
	return s.client.do(ctx, &request{method: "DELETE", path: "/api-keys/" + seg(keyID)}, nil)
}

// AccountsService administers accounts (client.Accounts; admin keys).
type AccountsService struct{ client *Client }

// AccountListOptions filter GET /admin/accounts.
type AccountListOptions struct {
	Page   int    `url:"page"`
	Limit  int    `url:"limit"`
	Role   string `url:"role"`
	Tier   string `url:"tier"`
	Search string `url:"search"`
}

// Create is CreateContext with context.Background().
func (s *AccountsService) Create(account *AccountCreate) (*Account, error) {
	return s.CreateContext(context.Background(), account)
}

// CreateContext creates an account (role user, publisher or admin).
func (s *AccountsService) CreateContext(ctx context.Context, account *AccountCreate) (*Account, error) {
	out := &Account{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: "/admin/accounts", body: account}, out)
	return finish(out, &out.Response, resp, err)
}

// List is ListContext with context.Background().
func (s *AccountsService) List(opts *AccountListOptions) (*AccountPage, error) {
	return s.ListContext(context.Background(), opts)
}

// ListContext returns one page of accounts.
func (s *AccountsService) ListContext(ctx context.Context, opts *AccountListOptions) (*AccountPage, error) {
	out := &AccountPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/admin/accounts", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// Get is GetContext with context.Background().
func (s *AccountsService) Get(accountID string) (*Account, error) {
	return s.GetContext(context.Background(), accountID)
}

// GetContext returns one account.
func (s *AccountsService) GetContext(ctx context.Context, accountID string) (*Account, error) {
	out := &Account{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: "/admin/accounts/" + seg(accountID)}, out)
	return finish(out, &out.Response, resp, err)
}

// Update is UpdateContext with context.Background().
func (s *AccountsService) Update(accountID string, changes *AccountUpdate) (*Account, error) {
	return s.UpdateContext(context.Background(), accountID, changes)
}

// UpdateContext changes an account (role, tier, rate limit, …).
func (s *AccountsService) UpdateContext(ctx context.Context, accountID string, changes *AccountUpdate) (*Account, error) {
	out := &Account{}
	resp, err := s.client.getData(ctx, &request{method: "PATCH", path: "/admin/accounts/" + seg(accountID), body: changes}, out)
	return finish(out, &out.Response, resp, err)
}

// CreateAPIKey is CreateAPIKeyContext with context.Background().
func (s *AccountsService) CreateAPIKey(accountID string, key *APIKeyCreate) (*APIKeyCreated, error) {
	return s.CreateAPIKeyContext(context.Background(), accountID, key)
}

// CreateAPIKeyContext creates a key for another account; its Key is shown only this once.
func (s *AccountsService) CreateAPIKeyContext(ctx context.Context, accountID string, key *APIKeyCreate) (*APIKeyCreated, error) {
	out := &APIKeyCreated{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: "/admin/accounts/" + seg(accountID) + "/api-keys", body: key}, out)
	return finish(out, &out.Response, resp, err)
}

// EnvironmentsService lists and manages environments (client.Environments; admin for changes).
type EnvironmentsService struct{ client *Client }

// List is ListContext with context.Background().
func (s *EnvironmentsService) List(opts *PageOptions) (*EnvironmentPage, error) {
	return s.ListContext(context.Background(), opts)
}

// ListContext returns one page of environments.
func (s *EnvironmentsService) ListContext(ctx context.Context, opts *PageOptions) (*EnvironmentPage, error) {
	out := &EnvironmentPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/environments", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// Create is CreateContext with context.Background().
func (s *EnvironmentsService) Create(env *EnvironmentCreate) (*Environment, error) {
	return s.CreateContext(context.Background(), env)
}

// CreateContext declares an environment with its Backstage and Node versions.
func (s *EnvironmentsService) CreateContext(ctx context.Context, env *EnvironmentCreate) (*Environment, error) {
	out := &Environment{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: "/environments", body: env}, out)
	return finish(out, &out.Response, resp, err)
}

// Update is UpdateContext with context.Background().
func (s *EnvironmentsService) Update(name string, changes *EnvironmentUpdate) (*Environment, error) {
	return s.UpdateContext(context.Background(), name, changes)
}

// UpdateContext changes an environment's versions.
func (s *EnvironmentsService) UpdateContext(ctx context.Context, name string, changes *EnvironmentUpdate) (*Environment, error) {
	out := &Environment{}
	resp, err := s.client.getData(ctx, &request{method: "PATCH", path: "/environments/" + seg(name), body: changes}, out)
	return finish(out, &out.Response, resp, err)
}

// Bool returns a pointer to b, for optional fields of requests.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to n, for optional fields of requests.
func Int(n int) *int { return &n }

// Float returns a pointer to f, for optional fields of requests.
func Float(f float64) *float64 { return &f }
