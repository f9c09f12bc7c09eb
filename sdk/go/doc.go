// Package marketplace is the Go client of the Plugin Marketplace API.
//
//	client := marketplace.NewClient(
//	    marketplace.WithAPIKey("YOUR_API_KEY"),
//	    marketplace.WithBaseURL("https://your-portal.com"),
//	)
//	plugins, err := client.Plugins.List(&marketplace.ListOptions{Category: "monitoring", Verified: true})
//
// Every method has a twin whose name ends in Context and takes a context.Context first
// (client.Plugins.ListContext(ctx, opts)); the short form uses context.Background(). Every method
// returns (value, error): the value carries the response metadata (embedded *Response: the HTTP
// response, Rate, RequestID), an error from the API is an *ErrorResponse (a *RateLimitError for 429).
//
// The types of requests and responses (types_gen.go) are generated from the gateway's merged
// OpenAPI document by internal/gen.
package marketplace

//go:generate go run ./internal/gen -in ../../docs/openapi.json -out types_gen.go
