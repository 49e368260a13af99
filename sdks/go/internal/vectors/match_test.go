package vectors

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The matcher must tell a right body from a wrong one, or the vector tests prove nothing.
func TestComparableTellsMatchingFromDifferingBodies(t *testing.T) {
	all, err := Load(filepath.Join("..", "..", "..", "conformance", "vectors"))
	if err != nil {
		t.Fatal(err)
	}
	var vector Vector
	for _, v := range all {
		if v.Name == "exception_with_cause" {
			vector = v
		}
	}
	good := `{"events":[{"id":"x","timestamp":"t","type":"error","level":"error","message":"payment failed",
	 "exception":{"type":"CheckoutError","value":"payment failed","module":"m","chain":[{"type":"GatewayTimeout",
	 "value":"gateway timed out after 30s","stacktrace":{"frames":[{"function":"main","in_app":true},
	 {"function":"charge_card","in_app":true,"lineno":3},{"function":"raiseError","in_app":true},{"function":"call_gateway","in_app":true}]}}]},
	 "stacktrace":{"frames":[{"function":"main","in_app":true},{"function":"charge_card","in_app":true}]},
	 "tags":{"checkout":"v2"},"environment":"production","release":"shop@2.4.1"}]}`
	cases := map[string]struct {
		body      string
		wantEqual bool
	}{
		"the expected body, with extra frames and fields": {good, true},
		"another failing frame":                           {strings.Replace(good, `{"function":"charge_card","in_app":true}]`, `{"function":"charge_card","in_app":true},{"function":"helper","in_app":true}]`, 1), false},
		"a frame not in app":                              {strings.Replace(good, `"function":"call_gateway","in_app":true`, `"function":"call_gateway","in_app":false`, 1), false},
		"a tag more":                                      {strings.Replace(good, `{"checkout":"v2"}`, `{"checkout":"v2","x":"y"}`, 1), false},
		"a null field":                                    {strings.Replace(good, `"release":"shop@2.4.1"`, `"release":"shop@2.4.1","user":null`, 1), false},
		"no id (ignored, but required)":                   {strings.Replace(good, `"id":"x",`, ``, 1), false},
	}
	for name, tc := range cases {
		expected, actual, err := Comparable(vector, []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		missing, _ := MissingIgnored(vector, []byte(tc.body))
		equal := reflect.DeepEqual(expected, actual) && len(missing) == 0
		if equal != tc.wantEqual {
			t.Errorf("%s: equal %v, want %v (missing %v)", name, equal, tc.wantEqual, missing)
		}
	}
}
