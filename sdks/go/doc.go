// Package pulsekit sends errors and custom events from Go programs to a PulseKit server.
//
//	if err := pulsekit.Init(pulsekit.Options{DSN: "http://pk_…@127.0.0.1:4000/1"}); err != nil {
//		log.Fatal(err)
//	}
//	defer pulsekit.Close()
//	defer pulsekit.Recover()
//
//	pulsekit.Capture(pulsekit.Event{Type: "payment.success", Message: "Order 1234 paid"})
//	pulsekit.CaptureException(err)
//
// Capturing never waits for the network: events are encoded in the caller's goroutine, queued
// in a queue bounded in events and bytes, and sent by a background goroutine in gzip-compressed
// batches, with retries. Only Init and NewClient return errors (for options that cannot work);
// after that the SDK never panics into, or returns errors to, the host program.
//
// Tags, user and extra data travel in a context.Context (WithTags, WithUser, WithExtra), so data
// set for one request or task never appears on another's events. Middleware, Recover, Go and
// SlogHandler capture panics and error logs automatically.
package pulsekit

// Version is the SDK's version, sent in the User-Agent header.
const Version = "0.1.0"
