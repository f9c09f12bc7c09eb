package marketplace

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// jsonFields are the json names of a struct's fields, embedded structs included.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	for t.Kind() == reflect.Ptr || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	fields := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return fields
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	return fields
}

// missingFields lists every property of the schema (and of its inline objects) without a Go field.
func missingFields(path string, schema map[string]interface{}, goType reflect.Type) []string {
	props, _ := schema["properties"].(map[string]interface{})
	if len(props) == 0 {
		return nil
	}
	fields := jsonFields(goType)
	var missing []string
	for name, raw := range props {
		fieldType, ok := fields[name]
		if !ok {
			missing = append(missing, path+"."+name)
			continue
		}
		prop, _ := raw.(map[string]interface{})
		if _, inline := prop["properties"]; inline {
			missing = append(missing, missingFields(path+"."+name, prop, fieldType)...)
		}
		if items, ok := prop["items"].(map[string]interface{}); ok {
			if _, inline := items["properties"]; inline {
				missing = append(missing, missingFields(path+"."+name+"[]", items, fieldType)...)
			}
		}
	}
	return missing
}

func loadSchemas(t *testing.T) map[string]interface{} {
	t.Helper()
	data, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]interface{} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Components.Schemas) == 0 {
		t.Fatal("no schemas in docs/openapi.json")
	}
	return doc.Components.Schemas
}

// Every schema of the merged document, and every field of it, has its Go type and field: a schema
// changed without `make openapi` (which reruns the generator) fails here.
func TestEveryFieldOfTheDocumentHasAGoField(t *testing.T) {
	var missing []string
	for name, raw := range loadSchemas(t) {
		value, ok := generatedTypes[name]
		if !ok {
			missing = append(missing, name+" (the whole schema)")
			continue
		}
		schema, _ := raw.(map[string]interface{})
		missing = append(missing, missingFields(name, schema, reflect.TypeOf(value))...)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("docs/openapi.json has fields the Go types lack (run `make openapi`):\n  %s", strings.Join(missing, "\n  "))
	}
}

// The hand-written request and result types cover their schemas too.
func TestHandWrittenTypesCoverTheirSchemas(t *testing.T) {
	schemas := loadSchemas(t)
	for schema, value := range map[string]interface{}{
		"Install": InstallOptions{}, "PluginDetailDataDoc": Plugin{}, "PluginListDoc": PluginPage{},
		"Installation": Installation{}, "Accepted": InstallResult{}, "Webhook": Webhook{},
		"WebhookWithSecret": WebhookWithSecret{}, "Delivery": Delivery{}, "Review": Review{}, "Me": Me{},
		"ApiKeyCreated": APIKeyCreated{}, "LogList": LogPage{}, "VersionDoc": Version{},
	} {
		s, _ := schemas[schema].(map[string]interface{})
		if s == nil {
			t.Errorf("schema %s is gone from the document", schema)
			continue
		}
		if missing := missingFields(schema, s, reflect.TypeOf(value)); len(missing) > 0 {
			t.Errorf("%T lacks %v", value, missing)
		}
	}
}

func TestMissingFieldsNoticesAGap(t *testing.T) {
	schema := map[string]interface{}{"properties": map[string]interface{}{"id": map[string]interface{}{}, "brandNew": map[string]interface{}{}}}
	if got := missingFields("PluginSummaryDoc", schema, reflect.TypeOf(PluginSummaryDoc{})); len(got) != 1 || got[0] != "PluginSummaryDoc.brandNew" {
		t.Fatalf("missingFields = %v", got)
	}
}
