package pulsekit

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// SlogOptions configure NewSlogHandler.
type SlogOptions struct {
	// Level: records at or above it become events; default slog.LevelError.
	Level slog.Leveler
	// Next also receives every record it is enabled for (your text or JSON handler); nil: none.
	Next slog.Handler
	// Client sends the events; nil: the default client of the time of each record.
	Client *Client
}

// SlogHandler is an slog.Handler that turns records at or above a level into events: the
// message, the level, the attributes (with their groups) as metadata, the record's context's
// scope, and an attribute holding an error as the exception with its chain and stack.
//
//	logger := slog.New(pulsekit.NewSlogHandler(pulsekit.SlogOptions{Next: slog.NewTextHandler(os.Stderr, nil)}))
type SlogHandler struct {
	opts   SlogOptions
	next   slog.Handler
	groups []string    // the open groups of WithGroup, outermost first
	attrs  []slogAttrs // attributes of WithAttrs, each with the groups open when added
}

type slogAttrs struct {
	groups []string
	attrs  []slog.Attr
}

// NewSlogHandler returns a handler capturing records at or above opts.Level.
func NewSlogHandler(opts SlogOptions) *SlogHandler {
	if opts.Level == nil {
		opts.Level = slog.LevelError
	}
	return &SlogHandler{opts: opts, next: opts.Next}
}

// Enabled reports whether the record is captured or the next handler wants it.
func (h *SlogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.opts.Level.Level() || (h.next != nil && h.next.Enabled(ctx, level))
}

// Handle captures the record when its level is high enough, then passes it to Next.
func (h *SlogHandler) Handle(ctx context.Context, r slog.Record) error {
	// The SDK's own diagnostics start with "pulsekit: ": capturing them could loop.
	if r.Level >= h.opts.Level.Level() && !strings.HasPrefix(r.Message, "pulsekit: ") {
		h.capture(ctx, r)
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

// WithAttrs returns a handler whose records also carry attrs.
func (h *SlogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(h.attrs[:len(h.attrs):len(h.attrs)], slogAttrs{groups: h.groups, attrs: attrs})
	if h.next != nil {
		c.next = h.next.WithAttrs(attrs)
	}
	return &c
}

// WithGroup returns a handler that puts later attributes under name.
func (h *SlogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = append(h.groups[:len(h.groups):len(h.groups)], name)
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	return &c
}

func (h *SlogHandler) capture(ctx context.Context, r slog.Record) {
	client := h.opts.Client
	if client == nil {
		client = CurrentClient()
	}
	if client == nil {
		return
	}
	metadata := map[string]any{}
	var err error
	for _, a := range h.attrs {
		err = addAttrs(metadata, a.groups, a.attrs, err)
	}
	var recordAttrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		recordAttrs = append(recordAttrs, a)
		return true
	})
	err = addAttrs(metadata, h.groups, recordAttrs, err)
	level := levelOfSlog(r.Level)
	event := &Event{Level: level, Message: r.Message, Timestamp: r.Time, Tags: map[string]string{"logger": "slog"}}
	if err != nil {
		event = client.errorEvent(err, level, nil)
		event.Message = r.Message
		event.Tags = map[string]string{"logger": "slog"}
		event.Timestamp = r.Time
	}
	if len(metadata) > 0 {
		event.Metadata = metadata
	}
	client.capture(ctx, event)
}

// addAttrs puts attrs into metadata under groups; it returns the first error value met (or err).
func addAttrs(metadata map[string]any, groups []string, attrs []slog.Attr, err error) error {
	target := metadata
	for _, g := range groups {
		inner, ok := target[g].(map[string]any)
		if !ok {
			inner = map[string]any{}
			target[g] = inner
		}
		target = inner
	}
	for _, a := range attrs {
		v := a.Value.Resolve()
		if a.Key == "" && v.Kind() != slog.KindGroup {
			continue
		}
		switch v.Kind() {
		case slog.KindGroup:
			if a.Key == "" { // an empty group key inlines its attributes, as slog's handlers do
				err = addAttrs(target, nil, v.Group(), err)
			} else {
				err = addAttrs(target, []string{a.Key}, v.Group(), err)
			}
		case slog.KindTime:
			target[a.Key] = v.Time().UTC().Format(time.RFC3339Nano)
		case slog.KindDuration:
			target[a.Key] = v.Duration().String()
		case slog.KindAny:
			if e, ok := v.Any().(error); ok {
				if err == nil {
					err = e
				}
				target[a.Key] = safeString(e.Error)
			} else {
				target[a.Key] = v.Any()
			}
		default:
			target[a.Key] = v.Any()
		}
	}
	return err
}

// levelOfSlog maps slog's levels to the protocol's; above Error+4 is Fatal.
func levelOfSlog(l slog.Level) Level {
	switch {
	case l >= slog.LevelError+4:
		return Fatal
	case l >= slog.LevelError:
		return Error
	case l >= slog.LevelWarn:
		return Warning
	case l >= slog.LevelInfo:
		return Info
	}
	return Debug
}

var _ slog.Handler = (*SlogHandler)(nil)
