package pulsekit_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
	"github.com/pulsekit/go/internal/vectors"
)

var vectorsDir = filepath.Join("..", "conformance", "vectors")

func TestThereIsAVectorForEachRequiredScenario(t *testing.T) {
	all, err := vectors.Load(vectorsDir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, v := range all {
		names[v.Name] = true
	}
	for _, want := range []string{"custom_event", "message", "exception_with_cause", "batch"} {
		if !names[want] {
			t.Errorf("no vector %q", want)
		}
	}
}

// Each vector, run through the public API, sends exactly its expected request and wire JSON.
func TestSDKEmitsEachVectorsWireJSON(t *testing.T) {
	all, err := vectors.Load(vectorsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range all {
		t.Run(v.Name, func(t *testing.T) {
			server := newCapturingServer(t)
			options := pulsekit.Options{Endpoint: server.URL, APIKey: testKey, BatchInterval: time.Hour, Logger: quietLogger}
			ids, flushed, err := vectors.Run(v, options, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !flushed {
				t.Fatal("flush did not complete")
			}
			requests := server.recordedRequests()
			if len(requests) != 1 {
				t.Fatalf("%d requests, want one", len(requests))
			}
			r := requests[0]
			if r.Method != v.ExpectedRequest.Method || r.Path != v.ExpectedRequest.Path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, v.ExpectedRequest.Method, v.ExpectedRequest.Path)
			}
			for name, value := range v.ExpectedRequest.Headers {
				if got := r.Header.Get(name); got != value {
					t.Errorf("header %s = %q, want %q", name, got, value)
				}
			}
			if got := r.Header.Get("X-PulseKit-Key"); got != testKey {
				t.Errorf("X-PulseKit-Key = %q", got)
			}
			zr, err := gzip.NewReader(bytes.NewReader(r.RawBody))
			if err != nil {
				t.Fatalf("body is not gzip: %v", err)
			}
			if _, err := io.ReadAll(zr); err != nil {
				t.Fatalf("body is not gzip: %v", err)
			}
			var sentIDs []string
			for _, e := range r.Events {
				sentIDs = append(sentIDs, e["id"].(string))
			}
			if !reflect.DeepEqual(sentIDs, ids) {
				t.Errorf("sent ids %v, captures returned %v", sentIDs, ids)
			}
			missing, err := vectors.MissingIgnored(v, r.Body)
			if err != nil || len(missing) > 0 {
				t.Errorf("missing generated fields %v (%v)", missing, err)
			}
			expected, actual, err := vectors.Comparable(v, r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(actual, expected) {
				t.Errorf("wire JSON differs\n got: %v\nwant: %v", actual, expected)
			}
		})
	}
}
