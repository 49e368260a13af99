package pulsekit

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// A hand-written JSON encoder for the event: encoding/json's reflection was 60% of Capture's
// time. Values of other types in metadata still go through encoding/json.

// appendEvent appends the wire JSON of w; unset fields are absent, never null.
func appendEvent(buf []byte, w *wireEvent, metadata map[string]any, logger logFunc) []byte {
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, w.ID)
	buf = append(buf, `,"type":`...)
	buf = appendString(buf, w.Type)
	buf = append(buf, `,"level":`...)
	buf = appendString(buf, string(w.Level))
	buf = appendField(buf, "message", w.Message)
	if w.Exception != nil {
		buf = append(buf, `,"exception":`...)
		buf = appendException(buf, w.Exception)
		if w.Stacktrace != nil {
			buf = append(buf, `,"stacktrace":`...)
			buf = appendStacktrace(buf, w.Stacktrace)
		}
	}
	buf = appendField(buf, "environment", w.Environment)
	buf = appendField(buf, "release", w.Release)
	if len(w.Tags) > 0 {
		buf = append(buf, `,"tags":{`...)
		first := true
		for k, v := range w.Tags {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = appendString(buf, v)
		}
		buf = append(buf, '}')
	}
	if u := w.User; u != nil {
		buf = append(buf, `,"user":{`...)
		mark := len(buf)
		for _, f := range [4][2]string{{"id", u.ID}, {"email", u.Email}, {"username", u.Username}, {"ip_address", u.IPAddress}} {
			if f[1] != "" {
				if len(buf) > mark {
					buf = append(buf, ',')
				}
				buf = appendString(buf, f[0])
				buf = append(buf, ':')
				buf = appendString(buf, f[1])
			}
		}
		buf = append(buf, '}')
	}
	if metadata != nil {
		buf = append(buf, `,"metadata":`...)
		start := len(buf)
		buf = appendObject(buf, metadata, 1)
		if size := len(buf) - start; size > maxMetadataBytes {
			logger("metadata over 64 KiB was dropped", "bytes", size)
			buf = append(buf[:start], `{"pulsekit_dropped_metadata_bytes":`...)
			buf = strconv.AppendInt(buf, int64(size), 10)
			buf = append(buf, '}')
		}
	}
	if len(w.Fingerprint) > 0 {
		buf = append(buf, `,"fingerprint":[`...)
		for i, p := range w.Fingerprint {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, p)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, `,"timestamp":`...)
	buf = appendString(buf, w.Timestamp)
	return append(buf, '}')
}

// appendField appends ,"name":"value" when value is not empty.
func appendField(buf []byte, name, value string) []byte {
	if value == "" {
		return buf
	}
	buf = append(buf, ',', '"')
	buf = append(buf, name...)
	buf = append(buf, '"', ':')
	return appendString(buf, value)
}

func appendException(buf []byte, e *Exception) []byte {
	buf = append(buf, `{"type":`...)
	buf = appendString(buf, e.Type)
	buf = append(buf, `,"value":`...)
	buf = appendString(buf, e.Value)
	buf = appendField(buf, "module", e.Module)
	if len(e.Chain) > 0 {
		buf = append(buf, `,"chain":[`...)
		for i, c := range e.Chain {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"type":`...)
			buf = appendString(buf, c.Type)
			buf = append(buf, `,"value":`...)
			buf = appendString(buf, c.Value)
			buf = appendField(buf, "module", c.Module)
			if c.Stacktrace != nil {
				buf = append(buf, `,"stacktrace":`...)
				buf = appendStacktrace(buf, c.Stacktrace)
			}
			buf = append(buf, '}')
		}
		buf = append(buf, ']')
	}
	return append(buf, '}')
}

func appendStacktrace(buf []byte, s *Stacktrace) []byte {
	buf = append(buf, `{"frames":[`...)
	for i, f := range s.Frames {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"in_app":`...)
		buf = strconv.AppendBool(buf, f.InApp)
		buf = appendField(buf, "filename", f.Filename)
		buf = appendField(buf, "abs_path", f.AbsPath)
		buf = appendField(buf, "function", f.Function)
		buf = appendField(buf, "module", f.Module)
		if f.Lineno > 0 {
			buf = append(buf, `,"lineno":`...)
			buf = strconv.AppendInt(buf, int64(f.Lineno), 10)
		}
		buf = append(buf, '}')
	}
	return append(buf, ']', '}')
}

// appendObject appends m as a JSON object at nesting level `level` (the metadata object is 1).
func appendObject(buf []byte, m map[string]any, level int) []byte {
	buf = append(buf, '{')
	first := true
	for k, v := range m {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendString(buf, k)
		buf = append(buf, ':')
		buf = appendAny(buf, v, level+1)
	}
	return append(buf, '}')
}

// appendAny appends v at nesting level `level`. The server refuses containers below level 9,
// so deeper ones become their JSON text; values JSON cannot encode become their %v text.
func appendAny(buf []byte, v any, level int) []byte {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...)
	case string:
		return appendString(buf, t)
	case bool:
		return strconv.AppendBool(buf, t)
	case int:
		return strconv.AppendInt(buf, int64(t), 10)
	case int64:
		return strconv.AppendInt(buf, t, 10)
	case int32:
		return strconv.AppendInt(buf, int64(t), 10)
	case uint:
		return strconv.AppendUint(buf, uint64(t), 10)
	case uint64:
		return strconv.AppendUint(buf, t, 10)
	case float64:
		return appendFloat(buf, t, 64)
	case float32:
		return appendFloat(buf, float64(t), 32)
	case json.Number:
		if _, err := strconv.ParseFloat(string(t), 64); err == nil {
			return append(buf, t...)
		}
		return appendString(buf, string(t))
	case json.Marshaler:
		// its own encoding, below
	case error:
		// encoding/json would write {} for most errors: the message is what a reader wants.
		return appendString(buf, safeString(t.Error))
	case map[string]any:
		if level > maxMetadataDepth {
			break
		}
		return appendObject(buf, t, level)
	case []any:
		if level > maxMetadataDepth {
			break
		}
		buf = append(buf, '[')
		for i, item := range t {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendAny(buf, item, level+1)
		}
		return append(buf, ']')
	}
	raw, err := json.Marshal(v)
	switch {
	case err != nil:
		return appendString(buf, safeString(func() string { return fmt.Sprintf("%v", v) }))
	case level+jsonDepth(raw)-1 > maxMetadataDepth:
		return appendString(buf, string(raw))
	}
	return append(buf, raw...)
}

// appendFloat formats like encoding/json; NaN and ±Inf, which JSON lacks, become strings.
func appendFloat(buf []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendString(buf, strconv.FormatFloat(f, 'g', -1, bits))
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, bits)
	if format == 'e' { // 1e-07 → 1e-7, as encoding/json writes it
		n := len(buf)
		if n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// formatTimestamp writes t in UTC as RFC 3339 with milliseconds, e.g. 2026-11-26T07:00:00.123Z.
func formatTimestamp(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	if year < 0 || year > 9999 {
		return t.Format("2006-01-02T15:04:05.000Z07:00")
	}
	var b [24]byte
	put := func(at, value, digits int) {
		for i := at + digits - 1; i >= at; i-- {
			b[i] = byte('0' + value%10)
			value /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = 'T'
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, second, 2)
	b[19] = '.'
	put(20, t.Nanosecond()/1e6, 3)
	b[23] = 'Z'
	return string(b[:])
}
