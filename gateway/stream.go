package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// A server stream (WatchFeedback) is answered 200 once the call is
// established (its headers arrived), then one message at a time, flushed
// as each arrives:
//
//   - JSON lines (application/x-ndjson, the default): each line is
//     {"result": <message>}, and a stream that fails ends with
//     {"error": {"code", "message", "details"}}, grpc-gateway's framing;
//   - server-sent events (when Accept names text/event-stream): each
//     message is a "data:" event, a failure an "error" event with the same
//     error object, and a comment line every sseHeartbeat keeps proxies
//     from closing an idle stream.
//
// A call refused before it is established is an ordinary error response.

// sseHeartbeat is how often an idle event stream gets a comment line.
const sseHeartbeat = 25 * time.Second

type streamFormat struct {
	contentType string
	message     func([]byte) []byte
	failure     func([]byte) []byte
	heartbeat   []byte
}

var (
	jsonLines = streamFormat{
		contentType: "application/x-ndjson",
		message:     func(m []byte) []byte { return wrap(`{"result":`, m, "}\n") },
		failure:     func(e []byte) []byte { return wrap(`{"error":`, e, "}\n") },
	}
	serverSentEvents = streamFormat{
		contentType: "text/event-stream",
		message:     func(m []byte) []byte { return wrap("data: ", m, "\n\n") },
		failure:     func(e []byte) []byte { return wrap("event: error\ndata: ", e, "\n\n") },
		heartbeat:   []byte(": keep-alive\n\n"),
	}
)

func wrap(before string, b []byte, after string) []byte {
	out := make([]byte, 0, len(before)+len(b)+len(after))
	return append(append(append(out, before...), b...), after...)
}

// formatFor picks the framing the Accept header asks for.
func formatFor(r *http.Request) streamFormat {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return serverSentEvents
		}
	}
	return jsonLines
}

var serverStreamDesc = &grpc.StreamDesc{ServerStreams: true}

func (g *Gateway) serveStream(ctx context.Context, w http.ResponseWriter, r *http.Request, rt *route, req proto.Message, md metadata.MD) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := g.conn.NewStream(ctx, serverStreamDesc, rt.method)
	if err == nil {
		err = cs.SendMsg(req)
	}
	if err == nil {
		err = cs.CloseSend()
	}
	var header metadata.MD
	if err == nil {
		// nil when the call ended without headers; RecvMsg has its status.
		header, err = cs.Header()
	}
	if err != nil {
		writeError(w, status.Convert(err), 0)
		return
	}

	received := make(chan []byte)
	failed := make(chan error, 1)
	go func() {
		for {
			m := rt.out.New().Interface()
			if err := cs.RecvMsg(m); err != nil {
				failed <- err
				return
			}
			b, err := marshalJSON(m)
			if err != nil {
				failed <- err
				return
			}
			select {
			case received <- b:
			case <-ctx.Done():
				failed <- ctx.Err()
				return
			}
		}
	}()

	format := formatFor(r)
	h := w.Header()
	rc := http.NewResponseController(w)
	var first []byte
	ended := false
	if !established(header) {
		// The headers carry no more than the request id, which every call
		// sends, also one about to fail: wait for the first message or the
		// end, so that a refused call is an ordinary error answer.
		select {
		case first = <-received:
		case err := <-failed:
			forwardHeaders(h, header)
			forwardHeaders(h, cs.Trailer())
			if !errors.Is(err, io.EOF) {
				writeError(w, status.Convert(err), 0)
				return
			}
			ended = true
		}
	}
	forwardHeaders(h, header)
	h.Set("Content-Type", format.contentType)
	h.Set("X-Accel-Buffering", "no") // nginx: pass each message on at once
	w.WriteHeader(http.StatusOK)
	if first != nil {
		_, _ = w.Write(format.message(first))
	}
	if err := rc.Flush(); err != nil {
		return
	}
	if ended {
		return
	}

	var beat <-chan time.Time
	if format.heartbeat != nil {
		t := time.NewTicker(sseHeartbeat)
		defer t.Stop()
		beat = t.C
	}
	for {
		var chunk []byte
		select {
		case b := <-received:
			// The credential was checked when the stream opened, which may
			// be hours ago: check it again before each message, so that a
			// revoked token or an ended console session receives no more
			// (the server's credential cache makes this cheap).
			if _, err := g.admit.AdmitHTTP(r.Context(), rt.method, md); err != nil {
				body, _ := json.Marshal(newErrorBody(status.Convert(err)))
				_, _ = w.Write(format.failure(body))
				_ = rc.Flush()
				return
			}
			chunk = format.message(b)
		case <-beat:
			chunk = format.heartbeat
		case err := <-failed:
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return
			}
			body, _ := json.Marshal(newErrorBody(status.Convert(err)))
			_, _ = w.Write(format.failure(body))
			_ = rc.Flush()
			return
		}
		if _, err := w.Write(chunk); err != nil {
			return // the client left; cancel ends the call
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// established reports whether a stream's headers show that the server
// accepted the call: a stream handler sends its headers (WatchFeedback:
// its cursor) once it has checked the request. The request id alone is no
// sign: grpc-go sends it before the status of a call refused at once.
func established(header metadata.MD) bool {
	for k := range header {
		if k != "x-request-id" && k != "content-type" && !strings.HasPrefix(k, "grpc-") {
			return true
		}
	}
	return false
}
