package pulsekit_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
)

const testKey = "pk_test_0123456789"

// recorded is one request the capturing server received.
type recorded struct {
	Method, Path string
	Header       http.Header
	RawBody      []byte
	Body         []byte // after gunzip
	Events       []map[string]any
}

type scripted struct {
	status  int
	headers map[string]string
}

// capturingServer is a real HTTP server on 127.0.0.1 that records every request and answers each
// with the next scripted status (or 202 with the ids, as PulseKit does).
type capturingServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	script   []scripted
	arrived  chan struct{}
	// connections counts the TCP connections clients opened (keep-alive reuses one).
	connections int
}

func newCapturingServer(t *testing.T) *capturingServer {
	t.Helper()
	s := &capturingServer{arrived: make(chan struct{}, 1000)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.mu.Lock()
			s.connections++
			s.mu.Unlock()
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *capturingServer) handle(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), RawBody: raw, Body: raw}
	if r.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			rec.Body, _ = io.ReadAll(zr)
		}
	}
	var body struct {
		Events []map[string]any `json:"events"`
	}
	_ = json.Unmarshal(rec.Body, &body)
	rec.Events = body.Events
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	answer := scripted{status: http.StatusAccepted}
	if len(s.script) > 0 {
		answer, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	s.arrived <- struct{}{}
	for k, v := range answer.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(answer.status)
	if answer.status == http.StatusAccepted {
		ids := []any{}
		for _, e := range body.Events {
			ids = append(ids, e["id"])
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ids": ids})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "scripted", "message": "scripted answer", "field": nil}})
}

// respond makes the next `times` requests get status (and headers) instead of 202.
func (s *capturingServer) respond(status int, headers map[string]string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < times; i++ {
		s.script = append(s.script, scripted{status, headers})
	}
}

func (s *capturingServer) recordedRequests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

func (s *capturingServer) events() []map[string]any {
	var all []map[string]any
	for _, r := range s.recordedRequests() {
		all = append(all, r.Events...)
	}
	return all
}

// waitForRequests waits until n requests arrived (or 5 s passed) and returns them.
func (s *capturingServer) waitForRequests(t *testing.T, n int) []recorded {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for len(s.recordedRequests()) < n {
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("%d requests arrived, want %d", len(s.recordedRequests()), n)
		}
	}
	return s.recordedRequests()
}

// quietLogger drops the SDK's diagnostics (tests assert on behaviour, not log lines).
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// newClient builds a client on the server; batches leave only when full or flushed.
func newClient(t *testing.T, s *capturingServer, options pulsekit.Options) *pulsekit.Client {
	t.Helper()
	if options.Endpoint == "" && options.DSN == "" {
		options.Endpoint, options.APIKey = s.URL, testKey
	}
	if options.BatchInterval == 0 {
		options.BatchInterval = time.Hour
	}
	if options.Logger == nil {
		options.Logger = quietLogger
	}
	c, err := pulsekit.NewClient(options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// sleeps records the retry delays a client asked for, without waiting.
type sleeps struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleeps) record(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, d)
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// onlyEvent flushes c and returns the single event the server received.
func onlyEvent(t *testing.T, c *pulsekit.Client, s *capturingServer) map[string]any {
	t.Helper()
	if !c.Flush(5 * time.Second) {
		t.Fatalf("flush failed; dropped %v", c.Dropped())
	}
	events := s.events()
	if len(events) != 1 {
		t.Fatalf("got %d events, want 1: %v", len(events), events)
	}
	return events[0]
}

// frameFunctions lists the functions of an event's frames (oldest first).
func frameFunctions(stacktrace any) []string {
	m, _ := stacktrace.(map[string]any)
	frames, _ := m["frames"].([]any)
	var names []string
	for _, f := range frames {
		names = append(names, f.(map[string]any)["function"].(string))
	}
	return names
}

func lastFrame(stacktrace any) map[string]any {
	m, _ := stacktrace.(map[string]any)
	frames, _ := m["frames"].([]any)
	if len(frames) == 0 {
		return nil
	}
	return frames[len(frames)-1].(map[string]any)
}
