package pulsekit

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of docs/protocol.md.
const (
	maxTypeChars          = 100
	maxMessageChars       = 8192
	maxMetadataBytes      = 64 * 1024
	maxMetadataDepth      = 9 // the metadata object is level 1; containers may sit at levels 2–9
	maxTags               = 50
	maxTagKeyChars        = 64
	maxTagValueChars      = 200
	maxUserFieldChars     = 200
	maxFingerprintParts   = 10
	maxFingerprintChars   = 200
	maxExceptionTypeChars = 256
	maxModuleChars        = 256
	maxChain              = 10
	maxFrames             = 250
	maxPathChars          = 1024
	maxFunctionChars      = 256
)

// logFunc reports a problem with an event (to Options.Logger) without failing the capture.
type logFunc func(msg string, args ...any)

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-'
}

// cleanName puts a type or tag key in the protocol's character set: other characters become '_'.
func cleanName(s string, maxChars int) string {
	ok := len(s) <= maxChars
	for i := 0; ok && i < len(s); i++ {
		ok = isNameByte(s[i])
	}
	if ok {
		return s // the common case allocates nothing
	}
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxChars {
			break
		}
		if r < utf8.RuneSelf && isNameByte(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// truncate cuts s to maxChars characters (runes), keeping it valid UTF-8.
func truncate(s string, maxChars int) string {
	if len(s) <= maxChars {
		return s
	}
	n := 0
	for i := range s {
		if n == maxChars {
			return s[:i]
		}
		n++
	}
	return s
}

// cleanText replaces control characters with replacement (or removes them when it is "") and truncates.
func cleanText(s string, maxChars int, replacement string) string {
	if hasControl(s) {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				if replacement == "" {
					return -1
				}
				return []rune(replacement)[0]
			}
			return r
		}, s)
	}
	return truncate(s, maxChars)
}

func cleanLabel(s string, maxChars int, forbidSlash bool) string {
	s = cleanText(s, maxChars, "")
	if forbidSlash {
		s = strings.ReplaceAll(s, "/", "-")
	}
	return s
}

// cleanTags returns tags valid for the protocol, or tags itself when they already are.
func cleanTags(tags map[string]string) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	valid := len(tags) <= maxTags
	if valid {
		for k, v := range tags {
			if k == "" || cleanName(k, maxTagKeyChars) != k || len(v) > maxTagValueChars || hasControl(v) {
				valid = false
				break
			}
		}
	}
	if valid {
		return tags
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys) // past 50 tags, which ones stay must not depend on map order
	cleaned := make(map[string]string, min(len(keys), maxTags))
	for _, k := range keys {
		name := cleanName(k, maxTagKeyChars)
		if name == "" || len(cleaned) >= maxTags {
			continue
		}
		cleaned[name] = cleanText(tags[k], maxTagValueChars, " ")
	}
	return cleaned
}

func cleanUser(u *User) *User {
	if u.isEmpty() {
		return nil
	}
	return &User{
		ID:        truncate(u.ID, maxUserFieldChars),
		Email:     truncate(u.Email, maxUserFieldChars),
		Username:  truncate(u.Username, maxUserFieldChars),
		IPAddress: truncate(u.IPAddress, maxUserFieldChars),
	}
}

func cleanFingerprint(parts []string) []string {
	if len(parts) == 0 {
		return nil
	}
	cleaned := make([]string, 0, min(len(parts), maxFingerprintParts))
	for _, p := range parts[:min(len(parts), maxFingerprintParts)] {
		cleaned = append(cleaned, truncate(p, maxFingerprintChars))
	}
	return cleaned
}

func cleanException(e *Exception) *Exception {
	c := &Exception{
		Type:   truncate(e.Type, maxExceptionTypeChars),
		Value:  truncate(e.Value, maxMessageChars),
		Module: truncate(e.Module, maxModuleChars),
	}
	for i, link := range e.Chain {
		if i == maxChain {
			break
		}
		if link.Type == "" {
			continue
		}
		c.Chain = append(c.Chain, ChainedError{
			Type:       truncate(link.Type, maxExceptionTypeChars),
			Value:      truncate(link.Value, maxMessageChars),
			Module:     truncate(link.Module, maxModuleChars),
			Stacktrace: cleanStacktrace(link.Stacktrace),
		})
	}
	return c
}

// cleanStacktrace keeps the 250 frames closest to the failure (the last ones).
func cleanStacktrace(s *Stacktrace) *Stacktrace {
	if s == nil || len(s.Frames) == 0 {
		return nil
	}
	frames := s.Frames[max(0, len(s.Frames)-maxFrames):]
	cleaned := make([]Frame, len(frames))
	for i, f := range frames {
		f.Filename = truncate(f.Filename, maxPathChars)
		f.AbsPath = truncate(f.AbsPath, maxPathChars)
		f.Function = truncate(f.Function, maxFunctionChars)
		f.Module = truncate(f.Module, maxModuleChars)
		f.Lineno = max(f.Lineno, 0)
		cleaned[i] = f
	}
	return &Stacktrace{Frames: cleaned}
}

// jsonDepth is the deepest nesting of objects and arrays in valid JSON.
func jsonDepth(raw []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range raw {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// newUUID returns a random (version 4) UUID in canonical form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms (Go 1.24+ panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// isUUID accepts the protocol's id forms: 8-4-4-4-12 hex digits, or 32 hex digits.
func isUUID(s string) bool {
	switch len(s) {
	case 32:
		_, err := hex.DecodeString(s)
		return err == nil
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return false
		}
		_, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
		return err == nil
	}
	return false
}
