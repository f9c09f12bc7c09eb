package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The committed types_gen.go is what the generator makes of the committed docs/openapi.json.
func TestCommittedTypesAreUpToDate(t *testing.T) {
	doc, err := os.ReadFile("../../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(doc, "openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../types_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("types_gen.go is stale: run `make openapi` (or `go generate` in sdk/go)")
	}
}

func TestGenerateShapes(t *testing.T) {
	doc := []byte(`{"paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Make"}}}}}}},
	"components": {"schemas": {
	  "Make": {"type": "object", "required": ["name"], "properties": {
	    "name": {"type": "string"}, "active": {"type": "boolean"}, "count": {"type": "integer"},
	    "inner": {"type": "object", "properties": {"pluginId": {"type": "string"}}},
	    "tags": {"type": "array", "items": {"type": "string"}}, "extra": {"type": "object", "additionalProperties": {}}}},
	  "Installation": {"type": "object", "properties": {"when": {"type": "integer", "nullable": true}, "made": {"$ref": "#/components/schemas/Make"},
	    "error": {"anyOf": [{"type": "object", "nullable": true}, {"$ref": "#/components/schemas/Make"}]}}}}}}`)
	code, err := Generate(doc, "x.json")
	if err != nil {
		t.Fatal(err)
	}
	text := string(code)
	for _, want := range []string{
		"Name   string                 `json:\"name\"`", "Active *bool", "Count  *int", "Inner  *MakeInner",
		"Tags   []string", "Extra  map[string]interface{}", "type MakeInner struct", "PluginID string",
		"type InstallationData struct", "When  *int", "Made  *Make", "Error *Make", `"Installation": InstallationData{}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("generated code lacks %q:\n%s", want, text)
		}
	}
}
