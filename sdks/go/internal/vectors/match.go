package vectors

import (
	"encoding/json"
	"regexp"
)

// The comparison rules of sdks/conformance/README.md (a port of wire_match.py): `ignore` paths
// must be present and are not compared, `optional` paths may be absent, `tail_match` arrays match
// their expected elements in order, the last expected element being the last actual one.

var pathToken = regexp.MustCompile(`([^.\[\]]+)|\[\*\]`)

func parsePath(path string) []string {
	var tokens []string
	for _, m := range pathToken.FindAllStringSubmatch(path, -1) {
		if m[1] == "" {
			tokens = append(tokens, "*")
		} else {
			tokens = append(tokens, m[1])
		}
	}
	return tokens
}

// Comparable returns (expected, actual), both decoded and reduced by the vector's rules, ready
// for reflect.DeepEqual; body is the request body the SDK sent (after gunzip).
func Comparable(v Vector, body []byte) (expected, actual any, err error) {
	if err := json.Unmarshal(v.ExpectedWire, &expected); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(body, &actual); err != nil {
		return nil, nil, err
	}
	for _, path := range v.TailMatch {
		tailProject(actual, expected, parsePath(path))
	}
	for _, path := range append(append([]string{}, v.Ignore...), v.Optional...) {
		deletePath(expected, parsePath(path))
		deletePath(actual, parsePath(path))
	}
	return expected, actual, nil
}

// MissingIgnored lists `ignore` paths that expected has and body lacks (generated ids, timestamps).
func MissingIgnored(v Vector, body []byte) ([]string, error) {
	var expected, actual any
	if err := json.Unmarshal(v.ExpectedWire, &expected); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &actual); err != nil {
		return nil, err
	}
	var missing []string
	var walk func(e, a any, tokens []string, where string)
	walk = func(e, a any, tokens []string, where string) {
		if len(tokens) == 0 {
			return
		}
		head, rest := tokens[0], tokens[1:]
		if head == "*" {
			el, _ := e.([]any)
			al, _ := a.([]any)
			for i, item := range el {
				var actualItem any
				if i < len(al) {
					actualItem = al[i]
				}
				walk(item, actualItem, rest, where+"[*]")
			}
			return
		}
		em, _ := e.(map[string]any)
		if _, ok := em[head]; !ok {
			return
		}
		am, _ := a.(map[string]any)
		if _, ok := am[head]; !ok {
			missing = append(missing, where+"."+head)
			return
		}
		walk(em[head], am[head], rest, where+"."+head)
	}
	for _, path := range v.Ignore {
		walk(expected, actual, parsePath(path), "")
	}
	return missing, nil
}

func deletePath(doc any, tokens []string) {
	if len(tokens) == 0 {
		return
	}
	head, rest := tokens[0], tokens[1:]
	switch d := doc.(type) {
	case []any:
		if head == "*" {
			for _, item := range d {
				deletePath(item, rest)
			}
		}
	case map[string]any:
		if head == "*" {
			return
		}
		if len(rest) == 0 {
			delete(d, head)
		} else if child, ok := d[head]; ok {
			deletePath(child, rest)
		}
	}
}

func tailProject(actual, expected any, tokens []string) {
	if len(tokens) == 0 {
		return
	}
	head, rest := tokens[0], tokens[1:]
	if head == "*" {
		al, aok := actual.([]any)
		el, eok := expected.([]any)
		if aok && eok {
			for i := 0; i < min(len(al), len(el)); i++ {
				tailProject(al[i], el[i], rest)
			}
		}
		return
	}
	am, aok := actual.(map[string]any)
	em, eok := expected.(map[string]any)
	if !aok || !eok {
		return
	}
	if _, ok := am[head]; !ok {
		return
	}
	if _, ok := em[head]; !ok {
		return
	}
	if len(rest) > 0 {
		tailProject(am[head], em[head], rest)
		return
	}
	al, aok := am[head].([]any)
	el, eok := em[head].([]any)
	if aok && eok {
		am[head] = matchTail(al, el)
	}
}

// matchTail returns the actual elements matching expected, in order, the last one last; or
// actual itself (so the comparison shows a diff).
func matchTail(actual, expected []any) []any {
	matched := make([]any, 0, len(expected))
	position := len(actual) - 1
	for index := len(expected) - 1; index >= 0; index-- {
		wanted := expected[index]
		for position >= 0 && !contains(actual[position], wanted) {
			if index == len(expected)-1 {
				return actual // the last frame must be the expected last frame
			}
			position--
		}
		if position < 0 {
			return actual
		}
		if wm, ok := wanted.(map[string]any); ok {
			am := actual[position].(map[string]any)
			cut := map[string]any{}
			for k := range wm {
				cut[k] = am[k]
			}
			matched = append(matched, cut)
		} else {
			matched = append(matched, wanted)
		}
		position--
	}
	for i, j := 0, len(matched)-1; i < j; i, j = i+1, j-1 {
		matched[i], matched[j] = matched[j], matched[i]
	}
	return matched
}

func contains(item, wanted any) bool {
	im, iok := item.(map[string]any)
	wm, wok := wanted.(map[string]any)
	if iok && wok {
		for k, v := range wm {
			if iv, ok := im[k]; !ok || !jsonEqual(iv, v) {
				return false
			}
		}
		return true
	}
	return jsonEqual(item, wanted)
}

func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
