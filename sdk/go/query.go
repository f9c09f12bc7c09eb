package marketplace

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// query turns a list's options (a pointer to the struct, maybe nil) into query parameters,
// go-github's way: each field names its parameter in a `url:"…"` tag, and zero values are not
// sent, so a bool is sent only when true and a []string as one comma-separated value.
func query(opts interface{}) url.Values {
	v := url.Values{}
	options := reflect.ValueOf(opts)
	if options.IsNil() {
		return v
	}
	options = options.Elem()
	for i := 0; i < options.NumField(); i++ {
		name, field := options.Type().Field(i).Tag.Get("url"), options.Field(i)
		if name == "" || field.IsZero() {
			continue
		}
		switch value := field.Interface().(type) {
		case string:
			v.Set(name, value)
		case int:
			v.Set(name, strconv.Itoa(value))
		case float64:
			v.Set(name, strconv.FormatFloat(value, 'f', -1, 64))
		case bool:
			v.Set(name, "true")
		case []string:
			if len(value) > 0 {
				v.Set(name, strings.Join(value, ","))
			}
		default: // a new kind of field: TestEveryOptionsFieldBecomesAParameter fails
			panic("marketplace: no query form for " + field.Type().String())
		}
	}
	return v
}
