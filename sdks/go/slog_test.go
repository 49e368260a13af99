package pulsekit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var errGatewayTimeout = errors.New("gateway timed out")

func TestSlogRecordsAtErrorLevelBecomeEvents(t *testing.T) {
	cases := []struct {
		name     string
		log      func(*slog.Logger, context.Context)
		wantSent bool
		check    func(t *testing.T, e map[string]any)
	}{
		{"info is not captured", func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "fine") }, false, nil},
		{"warn is not captured", func(l *slog.Logger, ctx context.Context) { l.WarnContext(ctx, "hmm") }, false, nil},
		{"error with attributes and groups", func(l *slog.Logger, ctx context.Context) {
			l.With("service", "billing").WithGroup("order").ErrorContext(ctx, "charge failed", "id", 1234, slog.Group("card", "brand", "visa"), "took", 2*time.Second)
		}, true, func(t *testing.T, e map[string]any) {
			want := map[string]any{"service": "billing", "order": map[string]any{"id": 1234.0, "card": map[string]any{"brand": "visa"}, "took": "2s"}}
			if !reflect.DeepEqual(e["metadata"], want) {
				t.Errorf("metadata %v, want %v", e["metadata"], want)
			}
			if e["message"] != "charge failed" || e["level"] != "error" || e["type"] != "error" || e["exception"] != nil {
				t.Errorf("event %v", e)
			}
			if e["tags"].(map[string]any)["request_id"] != "r-9" {
				t.Errorf("the record's context scope is missing: %v", e["tags"])
			}
		}},
		{"an error attribute becomes the exception with its chain", func(l *slog.Logger, ctx context.Context) {
			l.ErrorContext(ctx, "checkout failed", "err", fmt.Errorf("charge: %w", errGatewayTimeout))
		}, true, func(t *testing.T, e map[string]any) {
			exc := e["exception"].(map[string]any)
			chain := exc["chain"].([]any)
			if exc["type"] != "*fmt.wrapError" || len(chain) != 1 || chain[0].(map[string]any)["type"] != "*errors.errorString" {
				t.Errorf("exception %v", exc)
			}
			if e["message"] != "checkout failed" || e["metadata"].(map[string]any)["err"] != "charge: gateway timed out" {
				t.Errorf("event %v", e)
			}
			if last := lastFrame(e["stacktrace"]); !strings.HasPrefix(last["function"].(string), "TestSlogRecordsAtErrorLevelBecomeEvents") {
				t.Errorf("frames %v: the logging call should be last", frameFunctions(e["stacktrace"]))
			}
		}},
		{"above error is fatal", func(l *slog.Logger, ctx context.Context) { l.Log(ctx, slog.LevelError+4, "disk gone") }, true,
			func(t *testing.T, e map[string]any) {
				if e["level"] != "fatal" {
					t.Errorf("level %v", e["level"])
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			c := newClient(t, server, pulsekit.Options{})
			var text bytes.Buffer
			next := slog.NewTextHandler(&text, &slog.HandlerOptions{Level: slog.LevelInfo})
			logger := slog.New(pulsekit.NewSlogHandler(pulsekit.SlogOptions{Next: next, Client: c}))
			ctx := pulsekit.WithTags(context.Background(), map[string]string{"request_id": "r-9"})
			tc.log(logger, ctx)
			c.Flush(5 * time.Second)
			events := server.events()
			if (len(events) == 1) != tc.wantSent {
				t.Fatalf("events %v", events)
			}
			if tc.check != nil {
				tc.check(t, events[0])
			}
			if text.Len() == 0 {
				t.Error("the next handler did not get the record")
			}
		})
	}
}

func TestSlogHandlerUsesTheDefaultClientAndSkipsTheSDKsOwnLines(t *testing.T) {
	server := newCapturingServer(t)
	initDefault(t, server, pulsekit.Options{})
	logger := slog.New(pulsekit.NewSlogHandler(pulsekit.SlogOptions{}))
	logger.Error("pulsekit: gave up sending a batch")
	logger.Error("payment failed")
	pulsekit.Flush(5 * time.Second)
	if events := server.events(); len(events) != 1 || events[0]["message"] != "payment failed" {
		t.Errorf("events %v", events)
	}
}
