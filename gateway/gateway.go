package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The qa.v1 services the gateway finds in the registry.
	_ "qa-sampling/proto/qa/v1"
	"qa-sampling/websession"
)

// Prefix is the path prefix of every RPC the gateway serves.
const Prefix = "/qa.v1."

// Admitter admits a call from its headers and says how large its body may
// be; *server.Server implements it (AdmitHTTP).
type Admitter interface {
	AdmitHTTP(ctx context.Context, method string, md metadata.MD) (maxBodyBytes int, err error)
}

// Config is what the gateway needs.
type Config struct {
	// Conn reaches the services: server.Server.InProcess().
	Conn grpc.ClientConnInterface
	// Admit checks the caller before the body is read: the server.
	Admit Admitter
	Log   *slog.Logger
}

// Gateway is the HTTP handler of the JSON API.
type Gateway struct {
	conn   grpc.ClientConnInterface
	admit  Admitter
	log    *slog.Logger
	routes map[string]*route
}

// route is one RPC: its full method name and message types.
type route struct {
	method        string // /qa.v1.Service/Method
	in, out       protoreflect.MessageType
	serverStreams bool
	clientStreams bool
}

// New builds the gateway with a route for every method of every qa.v1
// service in the protobuf registry, so a new RPC is served as soon as its
// generated code is linked in.
func New(cfg Config) *Gateway {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gateway{conn: cfg.Conn, admit: cfg.Admit, log: log, routes: registeredRoutes("qa.v1")}
}

func registeredRoutes(pkg protoreflect.FullName) map[string]*route {
	routes := map[string]*route{}
	protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				in, err1 := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
				out, err2 := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
				if err1 != nil || err2 != nil {
					continue // generated code not linked in
				}
				name := "/" + string(sd.FullName()) + "/" + string(md.Name())
				routes[name] = &route{method: name, in: in, out: out,
					serverStreams: md.IsStreamingServer(), clientStreams: md.IsStreamingClient()}
			}
		}
		return true
	})
	return routes
}

// Methods lists the full method names the gateway serves.
func (g *Gateway) Methods() []string {
	out := make([]string, 0, len(g.routes))
	for m := range g.routes {
		out = append(out, m)
	}
	return out
}

// unaryAlternatives names the unary method that does what a client stream
// does, for the refusal of the stream over HTTP.
var unaryAlternatives = map[string]string{
	"/qa.v1.IngestService/PushTranscripts": "/qa.v1.IngestService/PushTranscript",
}

// Request and response JSON: protojson, fields in lowerCamelCase (the
// canonical proto3 JSON mapping; requests may use either spelling), fields
// at their zero value left out, enums by name, int64 as strings.
var unmarshalOptions = protojson.UnmarshalOptions{}

// ServeHTTP serves one call.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	rt, ok := g.routes[r.URL.Path]
	if !ok {
		writeError(w, status.New(codes.NotFound, "no such RPC: the API serves POST /qa.v1.<Service>/<Method>"), 0)
		return
	}
	if r.Method != http.MethodPost {
		h.Set("Allow", http.MethodPost)
		writeError(w, status.Newf(codes.Unimplemented, "%s is called with POST, not %s", rt.method, quoteShort(r.Method)), http.StatusMethodNotAllowed)
		return
	}
	if rt.clientStreams {
		msg := rt.method + " is a client stream, which the HTTP API does not carry; use gRPC"
		if alt, ok := unaryAlternatives[rt.method]; ok {
			msg += ", or POST each item to " + alt
		}
		writeError(w, status.New(codes.Unimplemented, msg), 0)
		return
	}
	md, refusal := callMetadata(r)
	if refusal != nil {
		g.refuseUnread(w, refusal, 0)
		return
	}
	// Authenticate from the headers before reading the body at all.
	limit, err := g.admit.AdmitHTTP(r.Context(), rt.method, md)
	if err != nil {
		g.refuseUnread(w, status.Convert(err), 0)
		return
	}
	if r.ContentLength > int64(limit) {
		g.refuseUnread(w, tooLarge(r.ContentLength, limit), http.StatusRequestEntityTooLarge)
		return
	}
	req := rt.in.New().Interface()
	if st, httpCode := readRequest(w, r, limit, req); st != nil {
		writeError(w, st, httpCode)
		return
	}
	ctx := metadata.NewOutgoingContext(r.Context(), md)
	if rt.serverStreams {
		g.serveStream(ctx, w, r, rt, req, md)
		return
	}
	resp := rt.out.New().Interface()
	var header, trailer metadata.MD
	err = g.conn.Invoke(ctx, rt.method, req, resp, grpc.Header(&header), grpc.Trailer(&trailer))
	forwardHeaders(h, header)
	forwardHeaders(h, trailer)
	if err != nil {
		writeError(w, status.Convert(err), 0)
		return
	}
	body, err := marshalJSON(resp)
	if err != nil {
		g.log.ErrorContext(r.Context(), "response not rendered as JSON", "grpc.method", rt.method, "err", err)
		writeError(w, status.New(codes.Internal, "response not rendered as JSON"), 0)
		return
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}

// refuseUnread answers a call whose body was not read. The connection is
// closed after the answer: the body (possibly large, from a stranger) is
// never read to make way for a next request.
func (g *Gateway) refuseUnread(w http.ResponseWriter, st *status.Status, httpCode int) {
	w.Header().Set("Connection", "close")
	writeError(w, st, httpCode)
}

func tooLarge(n int64, limit int) *status.Status {
	return status.Newf(codes.ResourceExhausted, "request body of %d bytes is over this method's limit of %d bytes", n, limit)
}

// bodyReadTimeout bounds reading one request body: 32 MiB at 1 MiB/s.
const bodyReadTimeout = 45 * time.Second

// readRequest reads at most limit bytes of body and decodes them into req;
// an empty body is the empty message.
func readRequest(w http.ResponseWriter, r *http.Request, limit int, req proto.Message) (*status.Status, int) {
	// The caller is authenticated, but a body trickled in slowly must not
	// hold the connection for ever (the server has no read timeout, as
	// streams stay open).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	_ = rc.SetReadDeadline(time.Time{})
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tooLarge(tooBig.Limit+1, limit), http.StatusRequestEntityTooLarge
	}
	if err != nil {
		return status.New(codes.InvalidArgument, "request body not read: "+boundText(err.Error())), 0
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, 0
	}
	if err := unmarshalOptions.Unmarshal(body, req); err != nil {
		// protojson's error names the field and quotes a short token.
		return status.Newf(codes.InvalidArgument, "request body is not a %s in JSON: %s",
			req.ProtoReflect().Descriptor().FullName(), boundText(err.Error())), 0
	}
	return nil, 0
}

// callMetadata is the metadata the call carries to the in-process server:
// the caller's credential and address.
//
// A credential comes from the Authorization header, or else from the
// console's session cookie. A browser attaches the cookie to any request
// to us, including one a page of another site makes it send, so a cookie
// alone does not show that the signed-in person meant the call. A
// cookie-authenticated call must therefore come from our own site
// (Sec-Fetch-Site / Origin) and carry the CSRF proof derived from the
// session secret (X-QA-CSRF), which only our pages can read. An
// Authorization header needs no such proof: another site's page cannot
// make the browser send one without a CORS preflight, which we never
// grant.
func callMetadata(r *http.Request) (metadata.MD, *status.Status) {
	md := metadata.MD{}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		md.Set("x-forwarded-for", host)
	}
	if auth := r.Header.Values("Authorization"); len(auth) > 0 {
		md["authorization"] = auth
		return md, nil
	}
	cred, ok := websession.Credential(r)
	if !ok {
		return md, nil // the gate answers UNAUTHENTICATED
	}
	if websession.CrossSite(r) {
		return nil, status.New(codes.PermissionDenied, "cross-site request with the session cookie refused")
	}
	if !websession.ValidCSRF(cred, r.Header.Get(websession.CSRFHeader)) {
		return nil, status.Newf(codes.PermissionDenied, "a call authenticated by the session cookie needs the CSRF proof in the %s header", websession.CSRFHeader)
	}
	md.Set("authorization", "Bearer "+cred)
	return md, nil
}

// forwardHeaders copies the call's response metadata (x-request-id, a
// stream's cursor) to HTTP headers; gRPC's own headers stay behind.
func forwardHeaders(h http.Header, md metadata.MD) {
	for k, vs := range md {
		if k == "content-type" || strings.HasPrefix(k, "grpc-") || strings.HasSuffix(k, "-bin") {
			continue
		}
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
}

// boundText cuts an error text that may quote a caller's value.
func boundText(s string) string {
	const most = 200
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func quoteShort(s string) string {
	if len(s) > 16 {
		s = s[:16]
	}
	return fmt.Sprintf("%q", s)
}
