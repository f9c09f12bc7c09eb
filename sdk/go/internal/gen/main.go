// Command gen writes the Go types of the API (types_gen.go) from the gateway's merged OpenAPI document.
//
//	go run ./internal/gen -in ../../docs/openapi.json -out types_gen.go
//
// Every component schema becomes a struct with one field per property (json tags carry the
// document's names). Schemas whose name a result type of the SDK takes (Installation, Review, …)
// get the suffix "Data": the SDK's Installation embeds InstallationData and adds the response
// metadata. Request schemas (reachable from a request body) use pointers for optional booleans and
// numbers, so that false and 0 can be sent.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	in := flag.String("in", "../../docs/openapi.json", "the merged OpenAPI document")
	out := flag.String("out", "types_gen.go", "the Go file to write")
	flag.Parse()
	doc, err := os.ReadFile(*in)
	if err != nil {
		fail(err)
	}
	code, err := Generate(doc, *in)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, code, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
