package pulsekit

import (
	"strings"
	"time"
)

// Level is an event's severity.
type Level string

// The protocol's levels. Other spellings are normalised: "WARN" → Warning, "critical" → Fatal.
const (
	Debug   Level = "debug"
	Info    Level = "info"
	Warning Level = "warning"
	Error   Level = "error"
	Fatal   Level = "fatal"
)

// normalize returns the protocol's name for l, or "" when l is not a level.
func (l Level) normalize() Level {
	switch Level(strings.ToLower(strings.TrimSpace(string(l)))) {
	case Debug:
		return Debug
	case Info:
		return Info
	case Warning, "warn":
		return Warning
	case Error, "err":
		return Error
	case Fatal, "critical":
		return Fatal
	}
	return ""
}

// Event is one event. Capture needs only some fields (Type, Level, Message, Metadata, Tags);
// the SDK fills ID, Timestamp, Environment and Release, and CaptureException fills Exception and
// Stacktrace. BeforeSend sees and may change every field.
type Event struct {
	ID          string            // a UUID; generated when empty (retries reuse it, so nothing is stored twice)
	Type        string            // e.g. "payment.success"; default "error" for errors and error levels, else "message"
	Level       Level             // default Error with an exception, else Info
	Message     string            // free text, at most 8,192 characters
	Metadata    map[string]any    // any JSON-encodable values; at most 64 KiB encoded
	Tags        map[string]string // at most 50; keys of A–Z a–z 0–9 _ . : -
	User        *User             // default: the scope's user
	Fingerprint []string          // overrides grouping; "{{ default }}" stands for the computed one
	Timestamp   time.Time         // default: now
	Environment string            // default: Options.Environment
	Release     string            // default: Options.Release
	Exception   *Exception        // set by CaptureException
	Stacktrace  *Stacktrace       // the primary exception's frames, oldest first
}

// User identifies who was affected; every field is optional.
type User struct {
	ID        string `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	Username  string `json:"username,omitempty"`
	IPAddress string `json:"ip_address,omitempty"`
}

func (u *User) isEmpty() bool { return u == nil || *u == User{} }

// Exception describes an error: its Go type name, its message, and the errors it wraps.
type Exception struct {
	Type       string         `json:"type"`             // e.g. *errors.errorString, or what ExceptionType() returns
	Value      string         `json:"value"`            // err.Error()
	Module     string         `json:"module,omitempty"` // the package that defines the type
	Chain      []ChainedError `json:"chain,omitempty"`  // wrapped errors, the direct cause first
	Stacktrace *Stacktrace    `json:"-"`                // the primary's frames travel as the event's Stacktrace
}

// ChainedError is one wrapped error of Exception.Chain.
type ChainedError struct {
	Type       string      `json:"type"`
	Value      string      `json:"value"`
	Module     string      `json:"module,omitempty"`
	Stacktrace *Stacktrace `json:"stacktrace,omitempty"` // when the error recorded where it was made
}

// Stacktrace holds frames oldest first, the failing frame last.
type Stacktrace struct {
	Frames []Frame `json:"frames"`
}

// Frame is one stack frame.
type Frame struct {
	Filename string `json:"filename,omitempty"`
	AbsPath  string `json:"abs_path,omitempty"`
	Function string `json:"function,omitempty"` // e.g. "charge_card", "(*Cart).Checkout", "main.func1"
	Module   string `json:"module,omitempty"`   // the Go package path, e.g. "github.com/acme/shop/billing"
	Lineno   int    `json:"lineno,omitempty"`
	InApp    bool   `json:"in_app"` // false for the standard library, the module cache and vendored code
}

// wireEvent is an event cleaned for the wire (see appendEvent).
type wireEvent struct {
	ID, Type, Message, Environment, Release, Timestamp string
	Level                                              Level
	Exception                                          *Exception
	Stacktrace                                         *Stacktrace
	Tags                                               map[string]string
	User                                               *User
	Fingerprint                                        []string
}

// encodeEvent returns the event's wire JSON, every field within the protocol's limits: the server
// refuses a whole batch for one invalid event, so each one is made valid here.
func encodeEvent(e *Event, logger logFunc) ([]byte, error) {
	w := wireEvent{
		ID:          e.ID,
		Message:     truncate(e.Message, maxMessageChars),
		Environment: cleanLabel(e.Environment, maxEnvironmentLen, true),
		Release:     cleanLabel(e.Release, maxReleaseLen, false),
		Tags:        cleanTags(e.Tags),
		User:        cleanUser(e.User),
		Fingerprint: cleanFingerprint(e.Fingerprint),
		Timestamp:   formatTimestamp(e.Timestamp),
	}
	if !isUUID(w.ID) {
		if w.ID != "" {
			logger("an event id that is not a UUID was replaced", "id", w.ID)
		}
		w.ID = newUUID()
		e.ID = w.ID
	}
	if e.Exception != nil && e.Exception.Type != "" {
		w.Exception = cleanException(e.Exception)
		w.Stacktrace = cleanStacktrace(e.Stacktrace)
	}
	w.Level = e.Level.normalize()
	if w.Level == "" {
		w.Level = Info
		if w.Exception != nil {
			w.Level = Error
		}
	}
	defaultType := "message"
	if w.Exception != nil || w.Level == Error || w.Level == Fatal {
		defaultType = "error"
	}
	w.Type = cleanName(e.Type, maxTypeChars)
	if w.Type == "" {
		w.Type = defaultType
	}
	size := 384 + len(w.Message)
	if w.Stacktrace != nil {
		size += 160 * len(w.Stacktrace.Frames)
	}
	return appendEvent(make([]byte, 0, size), &w, e.Metadata, logger), nil
}
