package marketplace

import (
	"reflect"
	"testing"
)

func TestQuerySendsOnlyTheFieldsThatAreSet(t *testing.T) {
	got := query(&ListOptions{Page: 2, Search: "graph", Tags: []string{"k8s", "ci"}, Verified: true, MinRating: 4.5}).Encode()
	if want := "minRating=4.5&page=2&search=graph&tags=k8s%2Cci&verified=true"; got != want {
		t.Fatalf("query = %q, want %q", got, want)
	}
	if got := query((*ListOptions)(nil)).Encode(); got != "" {
		t.Fatalf("nil options sent %q", got)
	}
	if got := query(&ReviewListOptions{}).Encode(); got != "" {
		t.Fatalf("zero options sent %q", got)
	}
}

// Every field of every list's options has a `url` tag and a form query knows, so none is dropped silently.
func TestEveryOptionsFieldBecomesAParameter(t *testing.T) {
	for _, opts := range []interface{}{&ListOptions{}, &PageOptions{}, &InstallationListOptions{}, &LogOptions{},
		&ReviewListOptions{}, &ModerationListOptions{}, &AccountListOptions{}, &DeliveryListOptions{}} {
		fields := reflect.ValueOf(opts).Elem()
		for i := 0; i < fields.NumField(); i++ {
			field := fields.Field(i)
			switch field.Kind() {
			case reflect.Slice:
				field.Set(reflect.ValueOf([]string{"x"}))
			case reflect.Bool:
				field.SetBool(true)
			case reflect.Int:
				field.SetInt(1)
			case reflect.Float64:
				field.SetFloat(1)
			default:
				field.SetString("x")
			}
		}
		if got := len(query(opts)); got != fields.NumField() {
			t.Errorf("%T: %d of %d fields sent: %v", opts, got, fields.NumField(), query(opts))
		}
	}
}
