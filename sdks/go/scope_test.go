package pulsekit_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
)

func TestTagsUserAndExtraLayerGlobalScopeAndCall(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{Tags: map[string]string{"service": "billing", "region": "eu"}})
	c.SetTag("host", "web-1")
	c.SetUser(pulsekit.User{ID: "global"})
	c.SetExtra("build", map[string]any{"sha": "abc"})
	ctx := pulsekit.WithTags(context.Background(), map[string]string{"request_id": "r-1", "host": "web-2"})
	ctx = pulsekit.WithUser(ctx, pulsekit.User{ID: "7", Email: "ada@example.com"})
	ctx = pulsekit.WithExtra(ctx, "cart", map[string]any{"items": 3})
	inner := pulsekit.WithTags(ctx, map[string]string{"region": ""}) // an empty value hides a tag
	c.CaptureContext(inner, pulsekit.Event{Message: "x", Tags: map[string]string{"request_id": "override"}, Metadata: map[string]any{"build": "own"}})
	e := onlyEvent(t, c, server)
	wantTags := map[string]any{"service": "billing", "host": "web-2", "request_id": "override"}
	if !reflect.DeepEqual(e["tags"], wantTags) {
		t.Errorf("tags %v, want %v", e["tags"], wantTags)
	}
	if !reflect.DeepEqual(e["user"], map[string]any{"id": "7", "email": "ada@example.com"}) {
		t.Errorf("user %v", e["user"])
	}
	wantMeta := map[string]any{"build": "own", "cart": map[string]any{"items": 3.0}}
	if !reflect.DeepEqual(e["metadata"], wantMeta) {
		t.Errorf("metadata %v, want %v", e["metadata"], wantMeta)
	}
}

func TestAScopeSeenByItsContextOnlyNeverByItsParentOrSiblings(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{})
	parent := context.Background()
	a := pulsekit.WithTags(parent, map[string]string{"task": "a"})
	b, scopeB := pulsekit.WithScope(parent)
	scopeB.SetTag("task", "b")
	c.CaptureMessageContext(a, "a", pulsekit.Info)
	c.CaptureMessageContext(b, "b", pulsekit.Info)
	c.CaptureMessageContext(parent, "parent", pulsekit.Info)
	c.Flush(5 * time.Second)
	got := map[string]any{}
	for _, e := range server.events() {
		got[e["message"].(string)] = e["tags"]
	}
	want := map[string]any{"a": map[string]any{"task": "a"}, "b": map[string]any{"task": "b"}, "parent": nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tags by event %v, want %v", got, want)
	}
}

// Many concurrent requests through the middleware: each event carries its own request's data only.
func TestConcurrentRequestsNeverSeeEachOthersScope(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{MaxQueueSize: 10000})
	app := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("n")
		scope := pulsekit.ScopeFromContext(r.Context())
		scope.SetTag("request_n", n)
		scope.SetUser(pulsekit.User{ID: "user-" + n})
		time.Sleep(time.Millisecond) // let other requests interleave with this one
		ctx := pulsekit.WithTags(r.Context(), map[string]string{"step": "charge-" + n})
		c.CaptureMessageContext(ctx, "request "+n, pulsekit.Info)
		fmt.Fprint(w, "ok")
	}))
	web := httptest.NewServer(app)
	defer web.Close()
	const requests = 200
	var wg sync.WaitGroup
	for i := 0; i < requests; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := http.Get(fmt.Sprintf("%s/checkout?n=%d", web.URL, i))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}(i)
	}
	wg.Wait()
	if !c.Flush(10 * time.Second) {
		t.Fatalf("flush failed: %v", c.Dropped())
	}
	events := server.events()
	if len(events) != requests {
		t.Fatalf("%d events, want %d", len(events), requests)
	}
	for _, e := range events {
		n := strings.TrimPrefix(e["message"].(string), "request ")
		wantTags := map[string]any{"request_n": n, "step": "charge-" + n}
		if !reflect.DeepEqual(e["tags"], wantTags) || e["user"].(map[string]any)["id"] != "user-"+n {
			t.Fatalf("request %s's event has tags %v and user %v", n, e["tags"], e["user"])
		}
		request := e["metadata"].(map[string]any)["request"].(map[string]any)
		if !strings.HasSuffix(request["url"].(string), "/checkout?n="+n) {
			t.Fatalf("request %s's event names %v", n, request["url"])
		}
	}
}

// Concurrent captures and global changes are safe (run with -race).
func TestGlobalTagsCanChangeWhileOtherGoroutinesCapture(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{MaxQueueSize: 10000})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, scope := pulsekit.WithScope(context.Background())
			for i := 0; i < 50; i++ {
				c.SetTag(fmt.Sprintf("g%d", g), fmt.Sprint(i))
				scope.SetTag("i", fmt.Sprint(i))
				c.CaptureMessageContext(ctx, "m", pulsekit.Info)
			}
		}(g)
	}
	wg.Wait()
	if !c.Flush(10*time.Second) || len(server.events()) != 400 {
		t.Errorf("%d events, dropped %v", len(server.events()), c.Dropped())
	}
}
