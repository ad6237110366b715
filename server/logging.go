package server

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// maxLogString is how much of one string a log line keeps: a message or
// attribute value (an error's text included) longer than this is cut to
// it, followed by "…(N bytes)".
const maxLogString = 256

// logHandler wraps the server's log handler. Every record logged with a
// call's context gets the call's request_id, the id the client was given
// in x-request-id, so a storage failure's cause is found under it. And
// every string is bounded, so a caller's 20 MB value, quoted in an error,
// never writes a 20 MB line.
type logHandler struct{ inner slog.Handler }

// newLogHandler wraps h, once.
func newLogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*logHandler); ok {
		return h
	}
	return &logHandler{inner: h}
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, boundString(r.Message), r.PC)
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		out.AddAttrs(slog.String("request_id", id))
	}
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(boundAttr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	bounded := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		bounded[i] = boundAttr(a)
	}
	return &logHandler{inner: h.inner.WithAttrs(bounded)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{inner: h.inner.WithGroup(name)}
}

// boundAttr bounds the strings of a: string values, errors, and any other
// value whose text is long (it is then logged as its bounded text).
func boundAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) > maxLogString {
			return slog.String(a.Key, boundString(s))
		}
	case slog.KindGroup:
		group := v.Group()
		bounded := make([]slog.Attr, len(group))
		for i, g := range group {
			bounded[i] = boundAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(bounded...)}
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case []byte:
			s = string(x)
		default:
			s = fmt.Sprint(x)
		}
		if len(s) > maxLogString {
			return slog.String(a.Key, boundString(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// boundString cuts s to maxLogString bytes, on a rune boundary, and says
// how long it was.
func boundString(s string) string {
	if len(s) <= maxLogString {
		return s
	}
	cut := maxLogString
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
