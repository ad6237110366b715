package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
)

// Why a guard and a codec: grpc-go decodes a request inside the generated
// handler, before any interceptor runs, and answers bytes that do not
// decode with INTERNAL "failed to unmarshal" that no interceptor sees, so
// it is neither logged nor counted. It also knows one receive limit for all
// methods. So the server's codec (requestCodec) hands a request over
// undecoded, and requestGuard, wrapped around every registered handler,
// decodes it itself: over the method's limit it is RESOURCE_EXHAUSTED,
// bytes that do not decode are INVALID_ARGUMENT naming the field, and both
// run through the interceptors (request id, log line, metrics) before the
// handler would have. The frame is still read before the method's limit
// applies (grpc-go checks only its global one before reading), but only
// after the transport tap admitted the caller, so only a token holder can
// make the server read up to --max-recv-bytes, on at most
// --max-streams-per-conn calls per connection.

// requestCodec is protobuf, except that a rawRequest receives the bytes.
type requestCodec struct{ encoding.CodecV2 }

func newRequestCodec() requestCodec {
	return requestCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}
}

func (c requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if raw, ok := v.(*rawRequest); ok {
		raw.free()
		raw.buf = data.MaterializeToBuffer(mem.DefaultBufferPool())
		return nil
	}
	return c.CodecV2.Unmarshal(data, v)
}

// rawRequest is one received request message, not yet decoded.
type rawRequest struct{ buf mem.Buffer }

func (r *rawRequest) bytes() []byte {
	if r.buf == nil {
		return nil
	}
	return r.buf.ReadOnlyData()
}

func (r *rawRequest) free() {
	if r.buf != nil {
		r.buf.Free()
		r.buf = nil
	}
}

// maxRequestDepth bounds message nesting; ours nest three levels.
const maxRequestDepth = 32

var requestUnmarshal = proto.UnmarshalOptions{RecursionLimit: maxRequestDepth}

// refusedRequest is a request refused before its handler ran.
type refusedRequest struct {
	st *status.Status
	// malformed is whether it did not decode (as opposed to too large).
	malformed bool
}

func (b *refusedRequest) Error() string              { return b.st.Message() }
func (b *refusedRequest) GRPCStatus() *status.Status { return b.st }

func malformedRequest(fe *fielderr.Error) *refusedRequest {
	st, _ := status.FromError(invalidArgument(fe))
	return &refusedRequest{st: st, malformed: true}
}

// inStreamRequest names which request of a stream was refused: n counts
// from 0, items from first on were not received.
func (b *refusedRequest) inStreamRequest(n, first int64) *refusedRequest {
	p := b.st.Proto()
	p.Message = fmt.Sprintf("stream request %d (items from index %d) refused, the stream ends here: %s", n, first, p.Message)
	return &refusedRequest{st: status.FromProto(p), malformed: b.malformed}
}

// malformedItems are the transcripts of a PushTranscriptsRequest that did
// not decode, by index in the request; the request holds an empty
// transcript (with its external_id when readable) at each.
type malformedItems map[int]*fielderr.Error

func (m malformedItems) Error() string {
	return fmt.Sprintf("%d transcripts of the request do not decode", len(m))
}

// requestGuard registers services with handlers that decode their requests
// through decode (see the comment at the top of this file).
type requestGuard struct {
	*grpc.Server
	// inProcess, when set, is the HTTP API's in-process server: every
	// service is registered on it too, with the same guarded handlers.
	inProcess              *grpc.Server
	log                    *slog.Logger
	malformed              *prometheus.CounterVec
	bulkLimit, otherLimits int
}

func newRequestGuard(gs *grpc.Server, cfg Config, log *slog.Logger, reg prometheus.Registerer) *requestGuard {
	malformed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qa_malformed_requests_total",
		Help: "Request messages that did not decode as protobuf (answered INVALID_ARGUMENT, or the bad transcripts of a PushTranscripts request rejected), by method.",
	}, []string{"method"})
	reg.MustRegister(malformed)
	return &requestGuard{Server: gs, log: log, malformed: malformed, bulkLimit: cfg.MaxRecvMsgBytes, otherLimits: cfg.MaxRequestBytes}
}

// RegisterService registers impl with every handler of sd guarded.
func (g *requestGuard) RegisterService(sd *grpc.ServiceDesc, impl any) {
	guarded := *sd
	guarded.Methods = make([]grpc.MethodDesc, len(sd.Methods))
	for i, m := range sd.Methods {
		guarded.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName, Handler: g.unary("/"+sd.ServiceName+"/"+m.MethodName, m.Handler)}
	}
	guarded.Streams = make([]grpc.StreamDesc, len(sd.Streams))
	for i, s := range sd.Streams {
		s.Handler = g.stream("/"+sd.ServiceName+"/"+s.StreamName, s.Handler)
		guarded.Streams[i] = s
	}
	g.Server.RegisterService(&guarded, impl)
	if g.inProcess != nil {
		g.inProcess.RegisterService(&guarded, impl)
	}
}

func (g *requestGuard) limit(method string) int {
	if methodRules[method].bulk {
		return g.bulkLimit
	}
	return g.otherLimits
}

// decode receives the next request of method into m through recv. Errors
// of the call itself (cancelled, ended) come back as recv gave them; a
// request too large or malformed is a *refusedRequest, and a transcript batch
// with some malformed items is malformedItems with the rest decoded.
func (g *requestGuard) decode(method string, recv func(any) error, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return recv(m)
	}
	var raw rawRequest
	defer raw.free()
	if err := recv(&raw); err != nil {
		return err
	}
	b := raw.bytes()
	if limit := g.limit(method); len(b) > limit {
		return &refusedRequest{st: status.Newf(codes.ResourceExhausted, "request of %d bytes is over this method's limit of %d bytes", len(b), limit)}
	}
	return unmarshalRequest(b, msg)
}

// unary guards a unary handler. A refused request still goes through the
// interceptors, with its handler replaced by the refusal, so it gets a
// request id, a log line and the call metrics like any other call.
func (g *requestGuard) unary(method string, h grpc.MethodHandler) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		var bad *refusedRequest
		guardedDec := func(m any) error {
			err := g.decode(method, dec, m)
			if errors.As(err, &bad) {
				return nil
			}
			return err
		}
		guardedInterceptor := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if bad != nil {
				handler = func(ctx context.Context, _ any) (any, error) { return nil, g.refuse(ctx, method, bad) }
			}
			if interceptor == nil {
				return handler(ctx, req)
			}
			return interceptor(ctx, req, info, handler)
		}
		return h(srv, ctx, guardedDec, guardedInterceptor)
	}
}

func (g *requestGuard) stream(method string, h grpc.StreamHandler) grpc.StreamHandler {
	return func(srv any, ss grpc.ServerStream) error {
		return h(srv, &guardedStream{ServerStream: ss, guard: g, method: method})
	}
}

// guardedStream decodes each received message through the guard.
type guardedStream struct {
	grpc.ServerStream
	guard  *requestGuard
	method string
}

func (s *guardedStream) RecvMsg(m any) error {
	err := s.guard.decode(s.method, s.ServerStream.RecvMsg, m)
	var bad *refusedRequest
	if errors.As(err, &bad) {
		return s.guard.refuse(s.Context(), s.method, bad)
	}
	var items malformedItems
	if errors.As(err, &items) {
		s.guard.malformed.WithLabelValues(s.method).Inc()
		for i, fe := range items {
			s.guard.log.WarnContext(s.Context(), "malformed transcript rejected", "grpc.method", s.method, "item", i, "err", fe)
		}
	}
	return err
}

// refuse logs and counts a refused request and returns it as the error.
func (g *requestGuard) refuse(ctx context.Context, method string, bad *refusedRequest) *refusedRequest {
	if bad.malformed {
		g.malformed.WithLabelValues(method).Inc()
		g.log.WarnContext(ctx, "malformed request", "grpc.method", method, "err", bad.Error())
	} else {
		g.log.WarnContext(ctx, "request over its size limit", "grpc.method", method, "err", bad.Error())
	}
	return bad
}

// unmarshalRequest decodes b into m; bytes that do not decode give a
// *refusedRequest naming the field, and a transcript batch is decoded item by
// item so that one bad transcript costs only itself (malformedItems).
func unmarshalRequest(b []byte, m proto.Message) error {
	err := requestUnmarshal.Unmarshal(b, m)
	if err == nil {
		return nil
	}
	proto.Reset(m)
	if batch, ok := m.(*qav1.PushTranscriptsRequest); ok {
		return decodeTranscriptBatch(b, batch)
	}
	return malformedRequest(describeMalformed(m.ProtoReflect().Descriptor(), b, err))
}

var (
	transcriptDescriptor = (&qav1.Transcript{}).ProtoReflect().Descriptor()
	transcriptsField     = (&qav1.PushTranscriptsRequest{}).ProtoReflect().Descriptor().Fields().ByName("transcripts").Number()
)

// decodeTranscriptBatch decodes a PushTranscriptsRequest one transcript at
// a time. Only when the request itself is broken, so that its items cannot
// be told apart, is the whole request refused.
func decodeTranscriptBatch(b []byte, req *qav1.PushTranscriptsRequest) error {
	items := malformedItems{}
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return malformedRequest(describeMalformed(req.ProtoReflect().Descriptor(), b, protowire.ParseError(n)))
		}
		rest = rest[n:]
		n = protowire.ConsumeFieldValue(num, typ, rest)
		if n < 0 {
			return malformedRequest(describeMalformed(req.ProtoReflect().Descriptor(), b, protowire.ParseError(n)))
		}
		value := rest[:n]
		rest = rest[n:]
		if num != transcriptsField || typ != protowire.BytesType {
			continue // unknown fields are skipped, as proto.Unmarshal keeps them aside
		}
		item, _ := protowire.ConsumeBytes(value)
		t := new(qav1.Transcript)
		if err := requestUnmarshal.Unmarshal(item, t); err != nil {
			items[len(req.Transcripts)] = describeMalformed(transcriptDescriptor, item, err)
			t = &qav1.Transcript{ExternalId: readableID(item)}
		}
		req.Transcripts = append(req.Transcripts, t)
	}
	if len(items) == 0 {
		return nil
	}
	return items
}

// readableID is the external_id of an undecodable transcript, if that
// field itself is sound, for its item result.
func readableID(b []byte) string {
	idField := transcriptDescriptor.Fields().ByName("external_id").Number()
	id := ""
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			break
		}
		if num == idField && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[:n])
			id = string(v)
		}
		b = b[n:]
	}
	if !utf8.ValidString(id) || len(id) > fielderr.MaxIDBytes {
		return ""
	}
	return id
}

// describeMalformed says where bytes that did not decode as md go wrong.
func describeMalformed(md protoreflect.MessageDescriptor, b []byte, err error) *fielderr.Error {
	if field, reason := findMalformed(md, b, "", 0); reason != "" {
		return fielderr.New(field, "%s", reason)
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return fielderr.New("", "not a valid %s message: %s", md.FullName(), msg)
}

// findMalformed walks b as a message md and returns the path of the first
// field that does not decode ("messages[2].text") and why; the path is
// empty when the message's own framing is broken.
func findMalformed(md protoreflect.MessageDescriptor, b []byte, prefix string, depth int) (string, string) {
	if depth > maxRequestDepth {
		return prefix, "nested too deeply"
	}
	seen := make(map[protowire.Number]int)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return prefix, "malformed field tag: " + protowire.ParseError(n).Error()
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		field := prefix
		if fd != nil {
			field = fieldPath(prefix, fd, seen[num])
			seen[num]++
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 && typ == protowire.StartGroupType {
			return field, "group nested too deeply or not closed"
		}
		if n < 0 {
			return field, "truncated or malformed value: " + protowire.ParseError(n).Error()
		}
		value := b[:n]
		b = b[n:]
		if fd == nil || typ != protowire.BytesType {
			continue
		}
		v, _ := protowire.ConsumeBytes(value)
		switch fd.Kind() {
		case protoreflect.StringKind:
			if !utf8.Valid(v) {
				return field, "not valid UTF-8"
			}
		case protoreflect.MessageKind:
			if f, r := findMalformed(fd.Message(), v, field, depth+1); r != "" {
				return f, r
			}
		}
	}
	return "", ""
}

// fieldPath spells a field as the API does: messages[3].sent_at.
func fieldPath(prefix string, fd protoreflect.FieldDescriptor, index int) string {
	name := string(fd.Name())
	if fd.IsList() {
		name += "[" + strconv.Itoa(index) + "]"
	}
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
