// Package vectors runs the shared conformance vectors (sdks/conformance/vectors) through the
// SDK's public API. The conformance program and the SDK's own tests both use it.
package vectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	pulsekit "github.com/pulsekit/go"
)

// Vector is one scenario: the calls to make, and the request the SDK must send.
type Vector struct {
	Name  string `json:"name"`
	Input struct {
		Init  map[string]any `json:"init"`
		Calls []Call         `json:"calls"`
	} `json:"input"`
	ExpectedRequest struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
	} `json:"expected_request"`
	ExpectedWire json.RawMessage `json:"expected_wire"`
	Ignore       []string        `json:"ignore"`
	Optional     []string        `json:"optional"`
	TailMatch    []string        `json:"tail_match"`
}

// Call is one step; Calls holds the nested steps of a "scope" call.
type Call struct {
	Call  string         `json:"call"`
	Args  map[string]any `json:"args"`
	Calls []Call         `json:"calls"`
}

// Load reads every vector of dir, sorted by file name. Numbers stay json.Number, so metadata
// keeps its JSON types (4999 stays an integer).
func Load(dir string) ([]Vector, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var vectors []Vector
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v Vector
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		vectors = append(vectors, v)
	}
	if len(vectors) == 0 {
		return nil, fmt.Errorf("no vectors in %s", dir)
	}
	return vectors, nil
}

// Run initialises the SDK with base plus the vector's init, performs its calls, flushes (at most
// flushTimeout) and closes. It returns the ids the captures returned, in call order, and whether
// the flush completed.
func Run(v Vector, base pulsekit.Options, flushTimeout time.Duration) (ids []string, flushed bool, err error) {
	options := base
	for name, value := range v.Input.Init {
		text, _ := value.(string)
		switch name {
		case "environment":
			options.Environment = text
		case "release":
			options.Release = text
		default:
			return nil, false, fmt.Errorf("vector %s: unknown init option %q", v.Name, name)
		}
	}
	if err := pulsekit.Init(options); err != nil {
		return nil, false, err
	}
	defer pulsekit.Close()
	if err := runCalls(context.Background(), v.Input.Calls, &ids); err != nil {
		return nil, false, fmt.Errorf("vector %s: %w", v.Name, err)
	}
	return ids, pulsekit.Flush(flushTimeout), nil
}

func runCalls(ctx context.Context, calls []Call, ids *[]string) error {
	for _, step := range calls {
		args := step.Args
		switch step.Call {
		case "set_tag":
			pulsekit.SetTag(str(args["key"]), str(args["value"]))
		case "set_user":
			pulsekit.SetUser(user(args["user"]))
		case "set_context":
			pulsekit.SetExtra(str(args["key"]), args["value"])
		case "scope":
			scoped, scope := pulsekit.WithScope(ctx)
			scope.SetTags(tags(args["tags"]))
			if u, ok := args["user"]; ok {
				scope.SetUser(user(u))
			}
			if extra, ok := args["context"].(map[string]any); ok {
				for k, value := range extra {
					scope.SetExtra(k, value)
				}
			}
			if err := runCalls(scoped, step.Calls, ids); err != nil {
				return err
			}
		case "capture":
			metadata, _ := args["metadata"].(map[string]any)
			*ids = append(*ids, pulsekit.CaptureContext(ctx, pulsekit.Event{
				Type: str(args["type"]), Level: pulsekit.Level(str(args["level"])), Message: str(args["message"]),
				Metadata: metadata, Tags: tags(args["tags"]),
			}))
		case "capture_message":
			*ids = append(*ids, pulsekit.CaptureMessageContext(pulsekit.WithTags(ctx, tags(args["tags"])),
				str(args["message"]), pulsekit.Level(str(args["level"]))))
		case "capture_exception":
			spec, err := parseErrorSpec(args["error"])
			if err != nil {
				return err
			}
			*ids = append(*ids, pulsekit.CaptureExceptionContext(pulsekit.WithTags(ctx, tags(args["tags"])), raiseError(spec)))
		default:
			return fmt.Errorf("unknown call %q", step.Call)
		}
	}
	return nil
}

func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	default:
		return fmt.Sprint(t) // json.Number and bool spell themselves as JSON does
	}
}

func tags(v any) map[string]string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, value := range m {
		if value != nil {
			out[k] = str(value)
		}
	}
	return out
}

func user(v any) pulsekit.User {
	m, _ := v.(map[string]any)
	return pulsekit.User{ID: str(m["id"]), Email: str(m["email"]), Username: str(m["username"]), IPAddress: str(m["ip_address"])}
}

// errorSpec is a vector's error: raised with Message from a function named Function, caused by Cause.
type errorSpec struct {
	Type, Message, Function string
	Cause                   *errorSpec
}

func parseErrorSpec(v any) (errorSpec, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return errorSpec{}, fmt.Errorf("error spec is %T, not an object", v)
	}
	spec := errorSpec{Type: str(m["type"]), Message: str(m["message"]), Function: str(m["function"])}
	if _, known := raisers[spec.Function]; !known {
		return spec, fmt.Errorf("no Go function named %q: add one to raisers", spec.Function)
	}
	if m["cause"] != nil {
		cause, err := parseErrorSpec(m["cause"])
		if err != nil {
			return spec, err
		}
		spec.Cause = &cause
	}
	return spec, nil
}

// vectorError reports the vector's type name (pulsekit.ExceptionTyper) and records where it was
// made (Callers), as errors from github.com/go-errors/errors do.
type vectorError struct {
	typ, message string
	cause        error
	pcs          []uintptr
}

func (e *vectorError) Error() string         { return e.message }
func (e *vectorError) ExceptionType() string { return e.typ }
func (e *vectorError) Unwrap() error         { return e.cause }
func (e *vectorError) Callers() []uintptr    { return e.pcs }

// newVectorError records the stack of its caller, which becomes the error's failing frame.
//
//go:noinline
func newVectorError(spec errorSpec, cause error) error {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	return &vectorError{typ: spec.Type, message: spec.Message, cause: cause, pcs: pcs[:n]}
}

// raisers are the functions vectors name; frames must carry exactly these names.
var raisers map[string]func(errorSpec) error

func init() {
	// Filled in init: the functions call raiseError, which reads this map.
	raisers = map[string]func(errorSpec) error{"charge_card": charge_card, "call_gateway": call_gateway}
}

func raiseError(spec errorSpec) error { return raisers[spec.Function](spec) }

//lint:ignore ST1003 the frame's function name must be the vector's, charge_card
func charge_card(spec errorSpec) error {
	var cause error
	if spec.Cause != nil {
		cause = raiseError(*spec.Cause)
	}
	return newVectorError(spec, cause)
}

//lint:ignore ST1003 the frame's function name must be the vector's, call_gateway
func call_gateway(spec errorSpec) error {
	var cause error
	if spec.Cause != nil {
		cause = raiseError(*spec.Cause)
	}
	return newVectorError(spec, cause)
}
