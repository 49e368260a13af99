package main

import (
	"errors"
	"fmt"
	"log"

	pulsekit "github.com/pulsekit/go"
)

func main() {
	err := pulsekit.Init(pulsekit.Options{
		DSN:         "__DSN__",
		Environment: "production",
		Release:     "shop@2.4.1",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pulsekit.Close()   // sends what is still queued
	defer pulsekit.Recover() // reports a panic, then lets it crash the program

	// A custom event
	pulsekit.Capture(pulsekit.Event{
		Type:     "payment.success",
		Message:  "Order 1234 paid",
		Metadata: map[string]any{"amount_cents": 4999, "currency": "EUR"},
		Tags:     map[string]string{"provider": "stripe"},
	})

	// A message
	pulsekit.CaptureMessage("Inventory below 10 units", pulsekit.Warning)

	// An error, with the errors it wraps
	if err := chargeCard(); err != nil {
		pulsekit.CaptureException(err)
	}
}

var errDeclined = errors.New("card declined")

func chargeCard() error {
	return fmt.Errorf("charge order 1234: %w", errDeclined)
}
