package pulsekit_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
)

type paymentError struct{ code int }

func (e *paymentError) Error() string { return fmt.Sprintf("payment declined (%d)", e.code) }

type namedError struct{}

func (namedError) Error() string         { return "named" }
func (namedError) ExceptionType() string { return "CheckoutError" }

// stackError records where it was made, as github.com/go-errors/errors does.
type stackError struct{ pcs []uintptr }

func (e *stackError) Error() string      { return "with a stack" }
func (e *stackError) Callers() []uintptr { return e.pcs }

func makeStackError() error {
	pcs := make([]uintptr, 32)
	return &stackError{pcs: pcs[:runtime.Callers(1, pcs)]}
}

type chainLink struct{ Type, Value string }

// Wrapped errors become the chain, the direct cause first, each with its Go type name.
func TestErrorsAreReportedWithTheirChainAndGoTypeNames(t *testing.T) {
	base := errors.New("connection reset")
	cases := []struct {
		name      string
		err       error
		wantType  string
		wantValue string
		wantChain []chainLink
	}{
		{"errors.New", base, "*errors.errorString", "connection reset", nil},
		{"custom type", &paymentError{51}, "*pulsekit_test.paymentError", "payment declined (51)", nil},
		{"ExceptionType() names the type", namedError{}, "CheckoutError", "named", nil},
		{"fmt.Errorf %w", fmt.Errorf("charge: %w", base), "*fmt.wrapError", "charge: connection reset",
			[]chainLink{{"*errors.errorString", "connection reset"}}},
		{"two levels of %w", fmt.Errorf("checkout: %w", fmt.Errorf("charge: %w", &paymentError{5})), "*fmt.wrapError",
			"checkout: charge: payment declined (5)",
			[]chainLink{{"*fmt.wrapError", "charge: payment declined (5)"}, {"*pulsekit_test.paymentError", "payment declined (5)"}}},
		{"errors.Join", errors.Join(base, &paymentError{7}), "*errors.joinError", "connection reset\npayment declined (7)",
			[]chainLink{{"*errors.errorString", "connection reset"}, {"*pulsekit_test.paymentError", "payment declined (7)"}}},
		{"fmt.Errorf with two %w", fmt.Errorf("both: %w, %w", base, namedError{}), "*fmt.wrapErrors", "both: connection reset, named",
			[]chainLink{{"*errors.errorString", "connection reset"}, {"CheckoutError", "named"}}},
		{"fs.PathError", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, "*fs.PathError", "open /x: file does not exist",
			[]chainLink{{"*errors.errorString", "file does not exist"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			c := newClient(t, server, pulsekit.Options{})
			c.CaptureException(tc.err)
			e := onlyEvent(t, c, server)
			exc := e["exception"].(map[string]any)
			if exc["type"] != tc.wantType || exc["value"] != tc.wantValue {
				t.Errorf("exception %v: %v, want %v: %v", exc["type"], exc["value"], tc.wantType, tc.wantValue)
			}
			var chain []chainLink
			links, _ := exc["chain"].([]any)
			for _, l := range links {
				m := l.(map[string]any)
				chain = append(chain, chainLink{m["type"].(string), m["value"].(string)})
			}
			if !reflect.DeepEqual(chain, tc.wantChain) {
				t.Errorf("chain %v, want %v", chain, tc.wantChain)
			}
			if e["type"] != "error" || e["level"] != "error" || e["message"] != tc.wantValue {
				t.Errorf("type %v level %v message %v", e["type"], e["level"], e["message"])
			}
		})
	}
}

func TestAnErrorsFramesEndWhereItWasCapturedOrMade(t *testing.T) {
	cases := []struct {
		name     string
		capture  func(*pulsekit.Client)
		wantLast string
	}{
		{"a plain error: where CaptureException was called", func(c *pulsekit.Client) { captureHere(c, errors.New("x")) }, "captureHere"},
		{"an error with Callers(): where it was made", func(c *pulsekit.Client) { captureHere(c, makeStackError()) }, "makeStackError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			c := newClient(t, server, pulsekit.Options{})
			tc.capture(c)
			e := onlyEvent(t, c, server)
			last := lastFrame(e["stacktrace"])
			if last["function"] != tc.wantLast || last["in_app"] != true {
				t.Fatalf("last frame %v, want %s in app; frames %v", last, tc.wantLast, frameFunctions(e["stacktrace"]))
			}
			if last["module"] != "github.com/pulsekit/go_test" || !strings.HasSuffix(last["filename"].(string), "capture_test.go") || last["lineno"].(float64) < 1 {
				t.Errorf("frame %v", last)
			}
			for _, f := range e["stacktrace"].(map[string]any)["frames"].([]any) {
				frame := f.(map[string]any)
				isStd := frame["module"] == "testing" || frame["module"] == "runtime"
				if isStd && frame["in_app"] != false {
					t.Errorf("standard library frame in app: %v", frame)
				}
				if frame["module"] == "github.com/pulsekit/go" {
					t.Errorf("the SDK's own frame is reported: %v", frame)
				}
			}
		})
	}
}

//go:noinline
func captureHere(c *pulsekit.Client, err error) { c.CaptureException(err) }

func TestEventsGetDefaultsAndNormalisedFields(t *testing.T) {
	cases := []struct {
		name  string
		event pulsekit.Event
		want  map[string]any
	}{
		{"a message", pulsekit.Event{Message: "hi"}, map[string]any{"type": "message", "level": "info"}},
		{"an error level makes an error", pulsekit.Event{Message: "bad", Level: pulsekit.Error}, map[string]any{"type": "error", "level": "error"}},
		{"fatal", pulsekit.Event{Level: "critical"}, map[string]any{"type": "error", "level": "fatal"}},
		{"WARN", pulsekit.Event{Level: "WARN"}, map[string]any{"type": "message", "level": "warning"}},
		{"an unknown level is info", pulsekit.Event{Level: "loud"}, map[string]any{"level": "info"}},
		{"a custom type", pulsekit.Event{Type: "payment.success"}, map[string]any{"type": "payment.success"}},
		{"a type outside the charset", pulsekit.Event{Type: "payment success/€"}, map[string]any{"type": "payment_success__"}},
		{"tag keys and values are cleaned", pulsekit.Event{Tags: map[string]string{"a b": "x\ny"}}, map[string]any{"tags": map[string]any{"a_b": "x y"}}},
		{"no tags means no tags key", pulsekit.Event{}, map[string]any{"tags": nil}},
		{"environment and release from the options", pulsekit.Event{}, map[string]any{"environment": "production", "release": "shop@2.4.1"}},
		{"the event's own environment wins", pulsekit.Event{Environment: "staging"}, map[string]any{"environment": "staging"}},
		{"a user", pulsekit.Event{User: &pulsekit.User{ID: "42"}}, map[string]any{"user": map[string]any{"id": "42"}}},
		{"a fingerprint", pulsekit.Event{Fingerprint: []string{"{{ default }}", "tenant-7"}}, map[string]any{"fingerprint": []any{"{{ default }}", "tenant-7"}}},
		{"a timestamp", pulsekit.Event{Timestamp: time.Date(2026, 11, 26, 7, 0, 0, 123e6, time.FixedZone("x", 3600))}, map[string]any{"timestamp": "2026-11-26T06:00:00.123Z"}},
		{"numbers in metadata keep their type", pulsekit.Event{Metadata: map[string]any{"n": 4999, "f": 812.5}}, map[string]any{"metadata": map[string]any{"n": 4999.0, "f": 812.5}}},
		{"strings are escaped; invalid UTF-8 becomes U+FFFD", pulsekit.Event{Message: "a\"b\\c\n\x01\xffé</>"}, map[string]any{"message": "a\"b\\c\n\x01\uFFFDé</>"}},
		{"floats, big and small", pulsekit.Event{Metadata: map[string]any{"tiny": 1e-7, "big": 1e21, "f32": float32(0.5), "neg": -3.25, "u": uint64(1 << 63)}},
			map[string]any{"metadata": map[string]any{"tiny": 1e-7, "big": 1e21, "f32": 0.5, "neg": -3.25, "u": float64(1 << 63)}}},
		{"errors are their message, other types go through encoding/json", pulsekit.Event{Metadata: map[string]any{"when": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "skus": []string{"A-1"}, "err": errors.New("x")}},
			map[string]any{"metadata": map[string]any{"when": "2026-01-02T03:04:05Z", "skus": []any{"A-1"}, "err": "x"}}},
		{"an id that is not a UUID is replaced", pulsekit.Event{ID: "nope"}, map[string]any{}},
		{"a message over 8,192 characters is cut", pulsekit.Event{Message: strings.Repeat("é", 9000)}, map[string]any{"message": strings.Repeat("é", 8192)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			c := newClient(t, server, pulsekit.Options{Environment: "production", Release: "shop@2.4.1"})
			id := c.Capture(tc.event)
			e := onlyEvent(t, c, server)
			if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) || e["id"] != id {
				t.Errorf("id %q, sent %v", id, e["id"])
			}
			if _, err := time.Parse(time.RFC3339, e["timestamp"].(string)); err != nil {
				t.Errorf("timestamp %v: %v", e["timestamp"], err)
			}
			for key, want := range tc.want {
				if got := e[key]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", key, got, want)
				}
			}
		})
	}
}

func TestMetadataTheServerWouldRefuseIsMadeAcceptable(t *testing.T) {
	deep := map[string]any{"leaf": 1}
	for i := 0; i < 12; i++ {
		deep = map[string]any{"d": deep}
	}
	cases := []struct {
		name     string
		metadata map[string]any
		check    func(map[string]any) bool
	}{
		{"a value JSON cannot encode becomes text", map[string]any{"ch": make(chan int), "ok": 1},
			func(m map[string]any) bool { _, isText := m["ch"].(string); return isText && m["ok"] == 1.0 }},
		{"NaN becomes text", map[string]any{"nan": math.NaN()}, func(m map[string]any) bool { return m["nan"] == "NaN" }},
		{"containers past level 9 become JSON text", map[string]any{"deep": deep, "flat": "x"},
			func(m map[string]any) bool {
				level9 := m["deep"]
				for i := 0; i < 7; i++ {
					level9 = level9.(map[string]any)["d"]
				}
				text, isText := level9.(map[string]any)["d"].(string)
				return isText && strings.HasSuffix(text, `{"leaf":1}}}}}`) && m["flat"] == "x"
			}},
		{"over 64 KiB is replaced by its size", map[string]any{"big": strings.Repeat("x", 70000)},
			func(m map[string]any) bool { return m["pulsekit_dropped_metadata_bytes"] == 70010.0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			c := newClient(t, server, pulsekit.Options{})
			c.Capture(pulsekit.Event{Metadata: tc.metadata})
			e := onlyEvent(t, c, server)
			if m, _ := e["metadata"].(map[string]any); !tc.check(m) {
				t.Errorf("metadata %.300v", e["metadata"])
			}
		})
	}
}

func TestBeforeSendEditsOrDropsEvents(t *testing.T) {
	cases := []struct {
		name        string
		beforeSend  func(*pulsekit.Event) *pulsekit.Event
		wantSent    bool
		wantMessage string
		wantDrop    string
	}{
		{"edits", func(e *pulsekit.Event) *pulsekit.Event { e.Message = "[scrubbed]"; return e }, true, "[scrubbed]", ""},
		{"drops with nil", func(*pulsekit.Event) *pulsekit.Event { return nil }, false, "", pulsekit.DropBeforeSend},
		{"a panic drops the event", func(*pulsekit.Event) *pulsekit.Event { panic("oops") }, false, "", pulsekit.DropBeforeSendPanic},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			c := newClient(t, server, pulsekit.Options{BeforeSend: tc.beforeSend})
			id := c.CaptureMessage("card 4242 4242 4242 4242", pulsekit.Info)
			c.Flush(5 * time.Second)
			events := server.events()
			if tc.wantSent != (len(events) == 1) || tc.wantSent != (id != "") {
				t.Fatalf("id %q, events %v", id, events)
			}
			if tc.wantSent && events[0]["message"] != tc.wantMessage {
				t.Errorf("message %v", events[0]["message"])
			}
			if tc.wantDrop != "" && c.Dropped()[tc.wantDrop] != 1 {
				t.Errorf("dropped %v", c.Dropped())
			}
		})
	}
}

func TestSampleRateKeepsAboutThatFraction(t *testing.T) {
	c := newClient(t, newCapturingServer(t), pulsekit.Options{SampleRate: 0.25, MaxQueueSize: 10000})
	kept := 0
	for i := 0; i < 4000; i++ {
		if c.CaptureMessage("sampled", pulsekit.Info) != "" {
			kept++
		}
	}
	if kept < 700 || kept > 1300 {
		t.Errorf("kept %d of 4000 at 0.25", kept)
	}
	if got := c.Dropped()[pulsekit.DropSampleRate]; got != uint64(4000-kept) {
		t.Errorf("dropped %v", c.Dropped())
	}
	if !c.Flush(5 * time.Second) {
		t.Error("sampling made Flush return false")
	}
}

func TestOptionsThatCannotWorkFailAtInitNamingTheOption(t *testing.T) {
	for _, name := range []string{"PULSEKIT_DSN", "PULSEKIT_ENDPOINT", "PULSEKIT_API_KEY"} {
		t.Setenv(name, "") // empty counts as unset
	}
	ok := pulsekit.Options{Endpoint: "http://127.0.0.1:4000", APIKey: testKey}
	with := func(change func(*pulsekit.Options)) pulsekit.Options { o := ok; change(&o); return o }
	cases := []struct {
		options    pulsekit.Options
		wantOption string
	}{
		{pulsekit.Options{}, "DSN"},
		{pulsekit.Options{DSN: "http://127.0.0.1:4000/1"}, "DSN"},
		{pulsekit.Options{DSN: "ftp://pk@127.0.0.1/1"}, "DSN"},
		{pulsekit.Options{DSN: "http://pk@127.0.0.1:4000/shop"}, "DSN"},
		{pulsekit.Options{DSN: "http://pk@127.0.0.1/1", Endpoint: "http://x"}, "DSN"},
		{with(func(o *pulsekit.Options) { o.Endpoint = "127.0.0.1:4000" }), "Endpoint"},
		{with(func(o *pulsekit.Options) { o.APIKey = "" }), "APIKey"},
		{with(func(o *pulsekit.Options) { o.APIKey = "pk with space" }), "APIKey"},
		{with(func(o *pulsekit.Options) { o.Environment = "prod/eu" }), "Environment"},
		{with(func(o *pulsekit.Options) { o.Environment = strings.Repeat("e", 65) }), "Environment"},
		{with(func(o *pulsekit.Options) { o.Release = "a\nb" }), "Release"},
		{with(func(o *pulsekit.Options) { o.SampleRate = 1.5 }), "SampleRate"},
		{with(func(o *pulsekit.Options) { o.SampleRate = -0.1 }), "SampleRate"},
		{with(func(o *pulsekit.Options) { o.MaxBatchSize = 1001 }), "MaxBatchSize"},
		{with(func(o *pulsekit.Options) { o.MaxQueueSize = -1 }), "MaxQueueSize"},
		{with(func(o *pulsekit.Options) { o.MaxQueueBytes = -1 }), "MaxQueueBytes"},
		{with(func(o *pulsekit.Options) { o.Timeout = -time.Second }), "Timeout"},
		{with(func(o *pulsekit.Options) { o.MinBackoff, o.MaxBackoff = time.Minute, time.Second }), "MaxBackoff"},
	}
	for _, tc := range cases {
		err := pulsekit.Init(tc.options)
		var config *pulsekit.ConfigError
		if !errors.As(err, &config) || config.Option != tc.wantOption {
			t.Errorf("Init(%+v) = %v, want a ConfigError for %s", tc.options, err, tc.wantOption)
		}
	}
	if pulsekit.CurrentClient() != nil {
		t.Error("a failed Init installed a client")
	}
}

func TestDSNsGiveEndpointKeyAndProject(t *testing.T) {
	cases := map[string]pulsekit.DSN{
		"http://pk_abc@127.0.0.1:4000/3":             {Endpoint: "http://127.0.0.1:4000", APIKey: "pk_abc", Project: "3"},
		"https://pk_abc@example.com/tracker/12/":     {Endpoint: "https://example.com/tracker", APIKey: "pk_abc", Project: "12"},
		"http://pk_abc@[::1]:4000/1":                 {Endpoint: "http://[::1]:4000", APIKey: "pk_abc", Project: "1"},
		" http://pk_abc:ignored@example.com:80/7 \n": {Endpoint: "http://example.com:80", APIKey: "pk_abc", Project: "7"},
	}
	for dsn, want := range cases {
		got, err := pulsekit.ParseDSN(dsn)
		if err != nil || got != want {
			t.Errorf("ParseDSN(%q) = %+v, %v; want %+v", dsn, got, err, want)
		}
	}
}

func TestTheEnvironmentConfiguresInitWithoutOptions(t *testing.T) {
	server := newCapturingServer(t)
	t.Setenv("PULSEKIT_DSN", strings.Replace(server.URL, "http://", "http://"+testKey+"@", 1)+"/1")
	if err := pulsekit.Init(pulsekit.Options{Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	defer pulsekit.Close()
	pulsekit.CaptureMessage("from the environment", pulsekit.Info)
	if !pulsekit.Flush(5*time.Second) || len(server.events()) != 1 || server.recordedRequests()[0].Header.Get("X-PulseKit-Key") != testKey {
		t.Errorf("events %v", server.events())
	}
}

func TestPackageFunctionsBeforeInitDoNothing(t *testing.T) {
	pulsekit.Close()
	if id := pulsekit.CaptureMessage("nobody listens", pulsekit.Info); id != "" {
		t.Errorf("id %q before Init", id)
	}
	if !pulsekit.Flush(time.Second) {
		t.Error("Flush before Init is false")
	}
	pulsekit.SetTag("a", "b") // no panic
}
