package pulsekit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
)

// initDefault installs a default client on the server for one test.
func initDefault(t *testing.T, server *capturingServer, options pulsekit.Options) {
	t.Helper()
	options.Endpoint, options.APIKey, options.Logger = server.URL, testKey, quietLogger
	if options.BatchInterval == 0 {
		options.BatchInterval = time.Hour
	}
	if err := pulsekit.Init(options); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pulsekit.Close)
}

//go:noinline
func indexOutOfRange(i int) int {
	items := []int{1, 2, 3}
	return items[i]
}

//go:noinline
func panicWithError() { panic(errors.New("ledger corrupted")) }

//go:noinline
func panicWithString() { panic("out of stock") }

func TestRecoverReportsThePanicWithThePanickingFrameLast(t *testing.T) {
	cases := []struct {
		name      string
		panicking func()
		wantType  string
		wantValue string
		wantLast  string
	}{
		{"a string", panicWithString, "panic", "out of stock", "panicWithString"},
		{"an error", panicWithError, "*errors.errorString", "ledger corrupted", "panicWithError"},
		{"a runtime error", func() { indexOutOfRange(5) }, "runtime.boundsError", "runtime error: index out of range [5] with length 3", "indexOutOfRange"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			initDefault(t, server, pulsekit.Options{RepanicAfterRecover: pulsekit.Bool(false)})
			func() {
				defer pulsekit.Recover()
				tc.panicking()
			}()
			events := server.events() // Recover flushed already
			if len(events) != 1 {
				t.Fatalf("%d events after Recover", len(events))
			}
			e := events[0]
			exc := e["exception"].(map[string]any)
			if exc["type"] != tc.wantType || exc["value"] != tc.wantValue || e["level"] != "error" {
				t.Errorf("exception %v, level %v", exc, e["level"])
			}
			if last := lastFrame(e["stacktrace"]); last["function"] != tc.wantLast || last["in_app"] != true {
				t.Errorf("frames %v, want %s last", frameFunctions(e["stacktrace"]), tc.wantLast)
			}
		})
	}
}

func TestRecoverPanicsAgainByDefaultAfterReporting(t *testing.T) {
	server := newCapturingServer(t)
	initDefault(t, server, pulsekit.Options{})
	var repanicked any
	func() {
		defer func() { repanicked = recover() }()
		defer pulsekit.Recover()
		panicWithString()
	}()
	if repanicked != "out of stock" {
		t.Errorf("re-panicked with %v", repanicked)
	}
	if events := server.events(); len(events) != 1 || events[0]["level"] != "fatal" {
		t.Errorf("events %v", events)
	}
}

func TestRecoverBeforeInitOnlyPanicsAgain(t *testing.T) {
	pulsekit.Close()
	var repanicked any
	func() {
		defer func() { repanicked = recover() }()
		defer pulsekit.Recover()
		panicWithString()
	}()
	if repanicked != "out of stock" {
		t.Errorf("re-panicked with %v", repanicked)
	}
}

func TestGoReportsAPanicOfItsGoroutine(t *testing.T) {
	server := newCapturingServer(t)
	initDefault(t, server, pulsekit.Options{RepanicAfterRecover: pulsekit.Bool(false)})
	done := make(chan struct{})
	pulsekit.Go(func() {
		defer close(done)
		panicWithError()
	})
	<-done
	requests := server.waitForRequests(t, 1)
	e := requests[0].Events[0]
	if e["message"] != "ledger corrupted" || lastFrame(e["stacktrace"])["function"] != "panicWithError" {
		t.Errorf("event %v, frames %v", e["message"], frameFunctions(e["stacktrace"]))
	}
	for _, f := range frameFunctions(e["stacktrace"]) {
		if strings.Contains(f, "Go.func") {
			t.Errorf("the SDK's goroutine wrapper is a frame: %v", frameFunctions(e["stacktrace"]))
		}
	}
}

func TestMiddlewareReportsAHandlerPanicAndAnswers500(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pulsekit.ScopeFromContext(r.Context()).SetTag("route", "/checkout")
		checkoutHandler(w, r)
	})
	web := httptest.NewServer(c.Middleware(handler))
	defer web.Close()
	req, _ := http.NewRequest(http.MethodPost, web.URL+"/checkout?cart=9", strings.NewReader("{}"))
	req.Header.Set("User-Agent", "shop-test/1.0")
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Cookie", "session=secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("status %d %q, want 500", resp.StatusCode, body)
	}
	e := onlyEvent(t, c, server)
	if e["message"] != "nil cart" || e["level"] != "error" || e["tags"].(map[string]any)["route"] != "/checkout" {
		t.Errorf("event %v", e)
	}
	request := e["metadata"].(map[string]any)["request"].(map[string]any)
	headers := request["headers"].(map[string]any)
	if request["method"] != "POST" || request["url"] != web.URL+"/checkout?cart=9" || headers["User-Agent"] != "shop-test/1.0" {
		t.Errorf("request %v", request)
	}
	if strings.Contains(string(mustJSON(t, e)), "secret") {
		t.Error("credentials reached the event")
	}
	if last := lastFrame(e["stacktrace"]); last["function"] != "checkoutHandler" {
		t.Errorf("frames %v", frameFunctions(e["stacktrace"]))
	}
}

//go:noinline
func checkoutHandler(http.ResponseWriter, *http.Request) { panic("nil cart") }

func TestMiddlewareKeepsAStartedResponseAndLetsErrAbortHandlerThrough(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{})
	web := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		w.WriteHeader(http.StatusAccepted)
		panic("after the header")
	})))
	defer web.Close()
	resp, err := http.Get(web.URL + "/started")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d, want the handler's 202", resp.StatusCode)
	}
	if _, err := http.Get(web.URL + "/abort"); err == nil {
		t.Error("an aborted handler still answered")
	}
	c.Flush(5 * time.Second)
	if events := server.events(); len(events) != 1 || events[0]["message"] != "after the header" {
		t.Errorf("events %v", events)
	}
}

func TestMiddlewareBeforeInitStillAnswers500(t *testing.T) {
	pulsekit.Close()
	web := httptest.NewServer(pulsekit.Middleware(http.HandlerFunc(checkoutHandler)))
	defer web.Close()
	resp, err := http.Get(web.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
}

func TestGoContextReportsWithItsContextsScope(t *testing.T) {
	server := newCapturingServer(t)
	initDefault(t, server, pulsekit.Options{RepanicAfterRecover: pulsekit.Bool(false)})
	ctx := pulsekit.WithTags(context.Background(), map[string]string{"job": "export"})
	done := make(chan struct{})
	pulsekit.GoContext(ctx, func(context.Context) {
		defer close(done)
		panicWithString()
	})
	<-done
	e := server.waitForRequests(t, 1)[0].Events[0]
	if e["tags"].(map[string]any)["job"] != "export" || e["message"] != "out of stock" {
		t.Errorf("event %v", e)
	}
}
