package pulsekit

import (
	"encoding/binary"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

const sdkPackage = "github.com/pulsekit/go"

// ExceptionTyper lets an error choose its exception.type (by default its Go type name, such as
// *errors.errorString or *shop.PaymentError).
type ExceptionTyper interface {
	ExceptionType() string
}

// stdlibSrc is GOROOT/src as this binary's standard library frames spell it.
var stdlibSrc = func() string {
	pc := reflect.ValueOf(strings.ToUpper).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	// file is GOROOT/src/strings/strings.go
	return strings.TrimSuffix(file, "strings/strings.go")
}()

// sdkDir is the directory of this package's source files as this binary spells them. Frames are
// recognised as the SDK's by file, not only by function name: a closure of the SDK inlined into
// the caller's package carries the caller's package in its name.
var sdkDir = func() string {
	pc := reflect.ValueOf(NewClient).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	return path.Dir(file)
}()

// currentStack returns the calling goroutine's frames, oldest first, without the SDK's own
// frames, the runtime's panic machinery and log/slog's frames above the caller.
func currentStack() *Stacktrace {
	pcs := make([]uintptr, 128)
	n := runtime.Callers(2, pcs)
	return framesFromPCs(pcs[:n], true)
}

// framesFromPCs turns program counters (newest first, as runtime.Callers returns them) into
// frames oldest first. With trimTop, frames above the first application frame that belong to the
// SDK, the runtime or log/slog are dropped (they are how the capture happened, not the failure).
func framesFromPCs(pcs []uintptr, trimTop bool) *Stacktrace {
	if len(pcs) == 0 {
		return nil
	}
	// Resolving program counters to lines was half of CaptureException's time; errors are
	// usually captured from the same few places, so resolved stacks are kept (a bounded number).
	key := stackKey(pcs, trimTop)
	if cached, ok := stackCache.Load(key); ok {
		return stacktraceOf(slices.Clone(cached.([]Frame)))
	}
	frames := resolveFrames(pcs, trimTop)
	if stackCacheSize.Load() < maxCachedStacks {
		if _, loaded := stackCache.LoadOrStore(key, slices.Clone(frames)); !loaded {
			stackCacheSize.Add(1)
		}
	}
	return stacktraceOf(frames)
}

const maxCachedStacks = 4096

var (
	stackCache     sync.Map // stackKey → []Frame, oldest first
	stackCacheSize atomic.Int32
)

func stackKey(pcs []uintptr, trimTop bool) string {
	b := make([]byte, 1, 1+8*len(pcs))
	if trimTop {
		b[0] = 1
	}
	for _, pc := range pcs {
		b = binary.LittleEndian.AppendUint64(b, uint64(pc))
	}
	return string(b)
}

func stacktraceOf(frames []Frame) *Stacktrace {
	if len(frames) == 0 {
		return nil
	}
	return &Stacktrace{Frames: frames}
}

// resolveFrames does the work of framesFromPCs.
func resolveFrames(pcs []uintptr, trimTop bool) []Frame {
	var frames []Frame
	iter := runtime.CallersFrames(pcs)
	atTop := trimTop
	for {
		f, more := iter.Next()
		pkg, fn := splitFunction(f.Function)
		skip := isSDKFrame(pkg, f.File) || f.Function == "runtime.goexit"
		if atTop && !skip && (pkg == "runtime" || pkg == "log/slog" || strings.HasPrefix(pkg, "log/slog/")) {
			skip = true
		}
		if !skip && f.Function != "" {
			atTop = false
			frames = append(frames, Frame{
				Filename: f.File,
				AbsPath:  f.File,
				Function: fn,
				Module:   pkg,
				Lineno:   f.Line,
				InApp:    isInApp(pkg, f.File),
			})
		}
		if !more {
			break
		}
	}
	slices.Reverse(frames)
	if len(frames) > maxFrames {
		frames = frames[len(frames)-maxFrames:]
	}
	return frames
}

// splitFunction splits "github.com/a/b.(*T).M" into "github.com/a/b" and "(*T).M".
func splitFunction(full string) (pkg, fn string) {
	slash := strings.LastIndexByte(full, '/')
	dot := strings.IndexByte(full[slash+1:], '.')
	if dot < 0 {
		return "", full
	}
	return full[:slash+1+dot], full[slash+1+dot+1:]
}

// isSDKFrame is true for this package's own code (its tests are application code).
func isSDKFrame(pkg, file string) bool {
	if strings.HasSuffix(file, "_test.go") {
		return false
	}
	return pkg == sdkPackage || path.Dir(file) == sdkDir
}

// isInApp is false for the standard library, the module cache and vendored code.
func isInApp(pkg, file string) bool {
	file = filepath.ToSlash(file)
	switch {
	case isSDKFrame(pkg, file):
		return false
	case strings.Contains(file, "/pkg/mod/"), strings.Contains(file, "/vendor/"), strings.Contains(file, "@v"):
		return false
	case stdlibSrc != "" && strings.HasPrefix(file, stdlibSrc):
		return false
	case stdlibSrc == "" || !filepath.IsAbs(file):
		// Without GOROOT paths (-trimpath), standard library packages have no dot in their
		// first path element, unlike module paths ("github.com/…").
		first, _, _ := strings.Cut(pkg, "/")
		return pkg == "main" || strings.Contains(first, ".")
	}
	return true
}

// stackOf returns the frames an error recorded where it was made: a method Callers() []uintptr
// (github.com/go-errors/errors and this package's convention) or StackTrace() returning a slice of
// program counters (github.com/pkg/errors); nil when it has neither.
func stackOf(err error) *Stacktrace {
	if c, ok := err.(interface{ Callers() []uintptr }); ok {
		return framesFromPCs(c.Callers(), false)
	}
	m := reflect.ValueOf(err).MethodByName("StackTrace")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		return nil
	}
	out := m.Type().Out(0)
	if out.Kind() != reflect.Slice || out.Elem().Kind() != reflect.Uintptr {
		return nil
	}
	v := m.Call(nil)[0]
	pcs := make([]uintptr, v.Len())
	for i := range pcs {
		// pkg/errors stores return addresses + 1 per frame; CallersFrames wants return addresses.
		pcs[i] = uintptr(v.Index(i).Uint()) - 1
	}
	return framesFromPCs(pcs, false)
}

// describeError returns err's type name, message and module.
func describeError(err error) (typ, value, module string) {
	t := reflect.TypeOf(err)
	base := t
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	typ, module = t.String(), base.PkgPath()
	if named, ok := err.(ExceptionTyper); ok {
		if name := safeString(named.ExceptionType); name != "" {
			typ = name
		}
	}
	return typ, safeString(err.Error), module
}

// safeString calls f, turning a panic (a nil pointer receiver, say) into a placeholder.
func safeString(f func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = "<panic while formatting>"
		}
	}()
	return f()
}

// exceptionFromError describes err and the errors it wraps (errors.Unwrap, errors.Join, %w), the
// direct cause first, depth first through joined errors, at most 10.
func exceptionFromError(err error) *Exception {
	typ, value, module := describeError(err)
	exc := &Exception{Type: typ, Value: value, Module: module, Stacktrace: stackOf(err)}
	seen := map[error]bool{}
	var walk func(error)
	walk = func(e error) {
		var causes []error
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			causes = []error{u.Unwrap()}
		case interface{ Unwrap() []error }:
			causes = u.Unwrap()
		}
		for _, cause := range causes {
			if cause == nil || len(exc.Chain) >= maxChain || isSeen(seen, cause) {
				continue
			}
			typ, value, module := describeError(cause)
			exc.Chain = append(exc.Chain, ChainedError{Type: typ, Value: value, Module: module, Stacktrace: stackOf(cause)})
			walk(cause)
		}
	}
	walk(err)
	return exc
}

// isSeen guards against cycles; errors that are not comparable are never equal to another.
func isSeen(seen map[error]bool, err error) bool {
	if !reflect.ValueOf(err).Comparable() {
		return false
	}
	if seen[err] {
		return true
	}
	seen[err] = true
	return false
}
