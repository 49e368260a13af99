package pulsekit

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults of Options, with their units.
const (
	DefaultMaxQueueSize    = 1000             // events waiting to be sent
	DefaultMaxQueueBytes   = 8 << 20          // bytes of encoded events waiting to be sent (8 MiB)
	DefaultMaxBatchSize    = 100              // events per request
	DefaultBatchInterval   = time.Second      // longest wait for a batch to fill
	DefaultMaxRetries      = 8                // retries of one batch
	DefaultTimeout         = 10 * time.Second // one HTTP request, connect to last byte
	DefaultShutdownTimeout = 2 * time.Second  // flush in Close and after a recovered panic
	DefaultMinBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second

	maxBatchEvents     = 1000 // the server refuses larger batches
	maxEnvironmentLen  = 64
	maxReleaseLen      = 200
	maxQueueSizeLimit  = 10_000_000
	maxQueueBytesLimit = 1 << 34
)

// Options configure a Client. Only the server (DSN, or Endpoint and APIKey) is required; every
// zero value means the documented default. README.md describes each option.
type Options struct {
	// DSN is the key's DSN, http://KEY@host:port/[prefix/]PROJECT; or give Endpoint and APIKey.
	DSN string
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:4000.
	Endpoint string
	// APIKey is a key with the ingest permission, sent as X-PulseKit-Key.
	APIKey string
	// Environment, e.g. "production": 1–64 characters, no '/'.
	Environment string
	// Release, e.g. "shop@2.4.1": 1–200 characters.
	Release string
	// Tags are global tags every event carries (scoped and per-event tags win over them).
	Tags map[string]string
	// SampleRate is the fraction of events kept, in (0, 1]; 0 means 1 (keep everything).
	SampleRate float64
	// BeforeSend edits an event before it is queued, or returns nil to drop it. A panic in it
	// drops the event (never sends it unscrubbed).
	BeforeSend func(*Event) *Event
	// Transport delivers batches; default: HTTP POST to Endpoint (see HTTPTransport).
	Transport Transport
	// HTTPClient is used by the default transport; default: keep-alive connections, proxies
	// from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), Timeout per request.
	HTTPClient *http.Client
	// MaxQueueSize bounds the events waiting to be sent; new events beyond it are dropped and counted.
	MaxQueueSize int
	// MaxQueueBytes bounds the encoded bytes waiting to be sent, likewise.
	MaxQueueBytes int
	// MaxBatchSize is the most events per request (at most 1,000).
	MaxBatchSize int
	// BatchInterval is the longest time the first queued event waits for a batch to fill.
	BatchInterval time.Duration
	// MaxRetries is how often one batch is retried after network errors, 5xx and 429; a
	// negative value means never retry.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between retries (with jitter).
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one HTTP request of the default transport.
	Timeout time.Duration
	// ShutdownTimeout bounds the flush in Close and after a panic that Recover or Go reported.
	ShutdownTimeout time.Duration
	// RepanicAfterRecover: Recover and Go re-panic after reporting (nil means true). Set it to
	// Bool(false) to keep running instead.
	RepanicAfterRecover *bool
	// Logger receives the SDK's own diagnostics; default: warnings and errors to stderr.
	Logger *slog.Logger
}

// Bool returns a pointer to v, for the optional boolean options.
func Bool(v bool) *bool { return &v }

// ConfigError is returned by Init and NewClient for options that cannot work.
type ConfigError struct {
	Option string // the option's name
	Reason string // what is wrong, and the fix
}

func (e *ConfigError) Error() string { return "pulsekit: option " + e.Option + ": " + e.Reason }

// DSN is a parsed DSN.
type DSN struct {
	Endpoint string // e.g. http://127.0.0.1:4000
	APIKey   string // e.g. pk_…
	Project  string // the project number
}

// ParseDSN splits http://KEY@host:port/[prefix/]PROJECT into the endpoint, key and project number.
func ParseDSN(dsn string) (DSN, error) {
	bad := func(reason string) (DSN, error) { return DSN{}, &ConfigError{"DSN", reason} }
	u, err := url.Parse(strings.TrimSpace(dsn))
	if err != nil {
		return bad(fmt.Sprintf("cannot parse %q: %v", dsn, err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad(fmt.Sprintf("must start with http:// or https://, got %q", dsn))
	}
	if u.User == nil || u.User.Username() == "" {
		return bad("has no API key: expected http://KEY@host:port/PROJECT")
	}
	if u.Hostname() == "" {
		return bad(fmt.Sprintf("has no host: %q", dsn))
	}
	prefix, project := "", strings.TrimRight(u.Path, "/")
	if i := strings.LastIndexByte(project, '/'); i >= 0 {
		prefix, project = project[:i], project[i+1:]
	}
	if project == "" || strings.Trim(project, "0123456789") != "" {
		return bad(fmt.Sprintf("must end with the project number (an integer), got %q", dsn))
	}
	return DSN{Endpoint: u.Scheme + "://" + u.Host + prefix, APIKey: u.User.Username(), Project: project}, nil
}

// resolve validates o, fills the defaults and returns the result; the caller's Options are not changed.
func (o Options) resolve() (Options, error) {
	if err := o.resolveServer(); err != nil {
		return o, err
	}
	if err := checkLabel("Environment", o.Environment, maxEnvironmentLen); err != nil {
		return o, err
	}
	if strings.Contains(o.Environment, "/") {
		return o, &ConfigError{"Environment", "must not contain '/'"}
	}
	if err := checkLabel("Release", o.Release, maxReleaseLen); err != nil {
		return o, err
	}
	if o.SampleRate == 0 {
		o.SampleRate = 1
	}
	if !(o.SampleRate > 0 && o.SampleRate <= 1) {
		return o, &ConfigError{"SampleRate", fmt.Sprintf("must be in (0, 1], got %v", o.SampleRate)}
	}
	counts := []struct {
		name         string
		value        *int
		def, max     int
		negativeIsOK bool
	}{
		{"MaxQueueSize", &o.MaxQueueSize, DefaultMaxQueueSize, maxQueueSizeLimit, false},
		{"MaxQueueBytes", &o.MaxQueueBytes, DefaultMaxQueueBytes, maxQueueBytesLimit, false},
		{"MaxBatchSize", &o.MaxBatchSize, DefaultMaxBatchSize, maxBatchEvents, false},
		{"MaxRetries", &o.MaxRetries, DefaultMaxRetries, 100, true},
	}
	for _, c := range counts {
		switch {
		case *c.value == 0:
			*c.value = c.def
		case *c.value < 0 && c.negativeIsOK:
			*c.value = 0
		case *c.value < 0 || *c.value > c.max:
			return o, &ConfigError{c.name, fmt.Sprintf("must be between 1 and %d, got %d", c.max, *c.value)}
		}
	}
	durations := []struct {
		name  string
		value *time.Duration
		def   time.Duration
	}{
		{"BatchInterval", &o.BatchInterval, DefaultBatchInterval},
		{"Timeout", &o.Timeout, DefaultTimeout},
		{"ShutdownTimeout", &o.ShutdownTimeout, DefaultShutdownTimeout},
		{"MinBackoff", &o.MinBackoff, DefaultMinBackoff},
		{"MaxBackoff", &o.MaxBackoff, DefaultMaxBackoff},
	}
	for _, d := range durations {
		if *d.value < 0 {
			return o, &ConfigError{d.name, fmt.Sprintf("must be a duration ≥ 0, got %v", *d.value)}
		}
		if *d.value == 0 {
			*d.value = d.def
		}
	}
	if o.MaxBackoff < o.MinBackoff {
		return o, &ConfigError{"MaxBackoff", fmt.Sprintf("must be ≥ MinBackoff (%v), got %v", o.MinBackoff, o.MaxBackoff)}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	o.Tags = cleanTags(o.Tags)
	return o, nil
}

// resolveServer gives o an Endpoint and APIKey from, in order: DSN, Endpoint + APIKey, and the
// environment variables PULSEKIT_DSN or PULSEKIT_ENDPOINT + PULSEKIT_API_KEY.
func (o *Options) resolveServer() error {
	if o.DSN != "" && (o.Endpoint != "" || o.APIKey != "") {
		return &ConfigError{"DSN", "give either DSN or Endpoint + APIKey, not both"}
	}
	if o.DSN == "" && o.Endpoint == "" && o.APIKey == "" {
		o.DSN = os.Getenv("PULSEKIT_DSN")
		if o.DSN == "" {
			o.Endpoint, o.APIKey = os.Getenv("PULSEKIT_ENDPOINT"), os.Getenv("PULSEKIT_API_KEY")
		}
		if o.DSN == "" && o.Endpoint == "" {
			return &ConfigError{"DSN", "no server configured: set DSN (or Endpoint and APIKey), or PULSEKIT_DSN"}
		}
	}
	if o.DSN != "" {
		parsed, err := ParseDSN(o.DSN)
		if err != nil {
			return err
		}
		o.Endpoint, o.APIKey = parsed.Endpoint, parsed.APIKey
	}
	o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
		return &ConfigError{"Endpoint", fmt.Sprintf("must be a URL like http://127.0.0.1:4000, got %q", o.Endpoint)}
	}
	if o.Transport == nil && (o.APIKey == "" || strings.ContainsAny(o.APIKey, " \t\r\n") || hasControl(o.APIKey)) {
		return &ConfigError{"APIKey", "must be a non-empty key without spaces, e.g. pk_…"}
	}
	return nil
}

func checkLabel(name, value string, maxLen int) error {
	if value == "" {
		return nil
	}
	if len([]rune(value)) > maxLen || hasControl(value) {
		return &ConfigError{name, fmt.Sprintf("must be 1–%d characters without control characters", maxLen)}
	}
	return nil
}
