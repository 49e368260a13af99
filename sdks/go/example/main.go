// A small shop server that reports to PulseKit: the net/http middleware (per-request scope,
// handler panics), an slog logger whose error records become events, a goroutine started with
// pulsekit.Go, and a custom event. It serves on 127.0.0.1, calls itself a few times, and exits.
//
//	PULSEKIT_DSN='http://pk_…@127.0.0.1:4000/1' go run ./example
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	pulsekit "github.com/pulsekit/go"
)

var errOutOfStock = errors.New("out of stock")

type cart struct{ items int }

func main() {
	// With no DSN in the options, Init reads PULSEKIT_DSN (or PULSEKIT_ENDPOINT + PULSEKIT_API_KEY).
	if err := pulsekit.Init(pulsekit.Options{Environment: "development", Release: "example@1.0.0"}); err != nil {
		log.Fatal(err)
	}
	defer pulsekit.Close()

	// Error records go to PulseKit and, like every record, to the usual text handler.
	logger := slog.New(pulsekit.NewSlogHandler(pulsekit.SlogOptions{Next: slog.NewTextHandler(os.Stderr, nil)}))
	slog.SetDefault(logger)

	mux := http.NewServeMux()
	mux.HandleFunc("/checkout", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		// The middleware gave this request its own scope: these values stay on its events.
		pulsekit.ScopeFromContext(ctx).SetTag("route", "/checkout")
		pulsekit.ScopeFromContext(ctx).SetUser(pulsekit.User{ID: r.URL.Query().Get("user")})
		if err := reserve(ctx, r.URL.Query().Get("sku")); err != nil {
			slog.ErrorContext(ctx, "checkout failed", "err", err, "sku", r.URL.Query().Get("sku"))
			http.Error(w, "try again later", http.StatusConflict)
			return
		}
		pulsekit.CaptureContext(ctx, pulsekit.Event{Type: "order.placed", Message: "Order placed", Metadata: map[string]any{"amount_cents": 4999}})
		fmt.Fprintln(w, "ordered")
	})
	mux.HandleFunc("/crash", func(_ http.ResponseWriter, r *http.Request) {
		carts := map[string]*cart{}
		carts[r.URL.Query().Get("cart")].items++ // no such cart: the middleware reports the panic and answers 500
	})

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	server := &http.Server{Handler: pulsekit.Middleware(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = server.Serve(listener) }()
	base := "http://" + listener.Addr().String()
	for _, path := range []string{"/checkout?sku=A-1&user=42", "/checkout?sku=B-2&user=7", "/crash"} {
		resp, err := http.Get(base + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("GET %s -> %d %s", path, resp.StatusCode, body)
	}

	// A background job in its own goroutine: a panic there is reported before it ends the program.
	done := make(chan struct{})
	pulsekit.Go(func() {
		defer close(done)
		pulsekit.CaptureMessage("nightly export finished", pulsekit.Info)
	})
	<-done

	_ = server.Shutdown(context.Background())
	if !pulsekit.Flush(5 * time.Second) {
		log.Fatalf("not everything was sent: %v", pulsekit.Dropped())
	}
	fmt.Println("all events sent")
}

func reserve(_ context.Context, sku string) error {
	if sku == "B-2" {
		return fmt.Errorf("reserve %s: %w", sku, errOutOfStock)
	}
	return nil
}
