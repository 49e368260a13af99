// The Go SDK's conformance program (sdks/conformance/README.md): runs every vector against the
// server at PULSEKIT_ENDPOINT and prints one JSON line per vector with the ids the captures
// returned; exits 1 when a flush did not complete.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	pulsekit "github.com/pulsekit/go"
	"github.com/pulsekit/go/internal/vectors"
)

func main() {
	dir := os.Getenv("PULSEKIT_VECTORS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "conformance", "vectors")
	}
	timeoutS, err := strconv.ParseFloat(envOr("PULSEKIT_FLUSH_TIMEOUT_S", "30"), 64)
	if err != nil {
		fail("PULSEKIT_FLUSH_TIMEOUT_S: %v", err)
	}
	all, err := vectors.Load(dir)
	if err != nil {
		fail("%v", err)
	}
	options := pulsekit.Options{Endpoint: os.Getenv("PULSEKIT_ENDPOINT"), APIKey: os.Getenv("PULSEKIT_API_KEY")}
	complete := true
	for _, v := range all {
		ids, flushed, err := vectors.Run(v, options, time.Duration(timeoutS*float64(time.Second)))
		if err != nil {
			fail("%v", err)
		}
		if ids == nil {
			ids = []string{}
		}
		line, _ := json.Marshal(map[string]any{"vector": v.Name, "ids": ids, "flushed": flushed})
		fmt.Println(string(line))
		complete = complete && flushed
	}
	if !complete {
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "conformance: "+format+"\n", args...)
	os.Exit(2)
}
