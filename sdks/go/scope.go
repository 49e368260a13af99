package pulsekit

import (
	"context"
	"maps"
	"net/http"
	"sync"
)

// Scope holds tags, a user and extra metadata for the events captured with a context that
// carries it. A Scope lives in a context.Context: WithTags, WithUser, WithExtra and WithScope
// return a child context with a child scope, so what one request or task sets never reaches
// another's events. A Scope's setters change it in place for everything that uses its context
// (the middleware gives each request one).
//
// The values of a call win over scoped ones, an inner scope's over an outer one's, and scoped
// ones over global ones (Options.Tags, SetTag, SetUser, SetExtra).
type Scope struct {
	parent *Scope
	mu     sync.RWMutex
	tags   map[string]string
	user   *User
	extra  map[string]any
	// request is set by Middleware: events get its method, URL and headers as metadata "request".
	request *http.Request
}

type scopeKey struct{}

// ScopeFromContext returns the innermost scope of ctx, or nil when ctx carries none.
func ScopeFromContext(ctx context.Context) *Scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// WithScope returns a child of ctx with a new, empty scope layered over ctx's scope; its
// setters change only what this child context (and its children) report.
func WithScope(ctx context.Context) (context.Context, *Scope) {
	if ctx == nil {
		ctx = context.Background()
	}
	s := &Scope{parent: ScopeFromContext(ctx)}
	return context.WithValue(ctx, scopeKey{}, s), s
}

// WithTags returns a child of ctx whose events also carry tags.
func WithTags(ctx context.Context, tags map[string]string) context.Context {
	ctx, s := WithScope(ctx)
	s.SetTags(tags)
	return ctx
}

// WithUser returns a child of ctx whose events name user.
func WithUser(ctx context.Context, user User) context.Context {
	ctx, s := WithScope(ctx)
	s.SetUser(user)
	return ctx
}

// WithExtra returns a child of ctx whose events carry value under key in their metadata.
func WithExtra(ctx context.Context, key string, value any) context.Context {
	ctx, s := WithScope(ctx)
	s.SetExtra(key, value)
	return ctx
}

// SetTag sets a tag; an empty value removes it. A nil Scope ignores every call.
func (s *Scope) SetTag(key, value string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tags == nil {
		s.tags = map[string]string{}
	}
	s.tags[key] = value // an empty value hides an outer scope's tag; it is removed when merged
}

// SetTags sets several tags.
func (s *Scope) SetTags(tags map[string]string) {
	for k, v := range tags {
		s.SetTag(k, v)
	}
}

// SetUser sets the user; the zero User forgets it (an outer scope's user applies again).
func (s *Scope) SetUser(user User) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if user == (User{}) {
		s.user = nil
	} else {
		s.user = &user
	}
}

// SetExtra adds key: value to the metadata of events; a nil value removes it.
func (s *Scope) SetExtra(key string, value any) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.extra == nil {
		s.extra = map[string]any{}
	}
	s.extra[key] = value
}

// apply layers the scope chain (outermost first) onto the event's tags, user and metadata, under
// the event's own values. tags and extra are the global ones; the results are fresh maps.
func (s *Scope) apply(e *Event, tags map[string]string, extra map[string]any, user *User) {
	var chain []*Scope
	for c := s; c != nil; c = c.parent {
		chain = append(chain, c)
	}
	mergedTags := make(map[string]string, len(tags)+len(e.Tags)+2)
	maps.Copy(mergedTags, tags)
	var mergedExtra map[string]any
	if len(extra) > 0 {
		mergedExtra = maps.Clone(extra)
	}
	var request *http.Request
	for i := len(chain) - 1; i >= 0; i-- {
		c := chain[i]
		if c.request != nil {
			request = c.request
		}
		c.mu.RLock()
		maps.Copy(mergedTags, c.tags)
		if c.user != nil {
			user = c.user
		}
		if len(c.extra) > 0 && mergedExtra == nil {
			mergedExtra = make(map[string]any, len(c.extra))
		}
		maps.Copy(mergedExtra, c.extra)
		c.mu.RUnlock()
	}
	maps.Copy(mergedTags, e.Tags)
	for k, v := range mergedTags {
		if v == "" {
			delete(mergedTags, k)
		}
	}
	e.Tags = mergedTags
	if e.User == nil && user != nil {
		u := *user
		e.User = &u
	}
	for k, v := range mergedExtra {
		if v == nil { // a nil extra value removes an outer one (the event's own nils stay)
			delete(mergedExtra, k)
		}
	}
	if request != nil {
		if _, isSet := mergedExtra["request"]; !isSet {
			if mergedExtra == nil {
				mergedExtra = map[string]any{}
			}
			mergedExtra["request"] = requestMetadata(request)
		}
	}
	if mergedExtra != nil {
		// Extra data is shared by many events; the event's own metadata wins on a clash.
		maps.Copy(mergedExtra, e.Metadata)
		e.Metadata = mergedExtra
	}
}

// globalScope is a client's process-wide data; it is replaced, never changed, so captures read
// it without a lock.
type globalScope struct {
	tags  map[string]string
	user  *User
	extra map[string]any
}
