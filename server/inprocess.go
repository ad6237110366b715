package server

import (
	"context"
	"math"
	"net"
	"strings"
	"sync"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/tap"
	"google.golang.org/grpc/test/bufconn"
)

// The in-process server is how the HTTP API and the console reach the
// services: a second grpc.Server with the same services, interceptors,
// transport tap and request guard as the public one, served on an
// in-memory listener. An HTTP call therefore passes exactly the
// authentication, permission table, size limits, logging and metrics of a
// gRPC call: there is one authorization path, not a copy of it in HTTP
// handlers.

const (
	// inProcessStreams bounds concurrent calls on the one in-process
	// connection, which carries every HTTP caller: hundreds of supervisors
	// keep WatchFeedback open. The HTTP server bounds its own connections.
	inProcessStreams = 10000
	// inProcessBuffer is the in-memory listener's buffer per direction.
	inProcessBuffer = 1 << 20
	// ForwardedForHeader carries the HTTP caller's address to the
	// in-process server, which logs it as the call's peer.
	ForwardedForHeader = "x-forwarded-for"
)

// inProcess is the in-process server and a client connection to it.
type inProcess struct {
	grpc *grpc.Server
	lis  *bufconn.Listener
	once sync.Once
	conn *grpc.ClientConn
}

// newInProcess builds the in-process server with the public one's
// interceptors (chain) and tap; the request guard registers every service
// on it too (requestGuard.inProcess).
func newInProcess(cfg Config, gate *authGate, chain []grpc.ServerOption) *inProcess {
	inCfg := cfg
	inCfg.MaxStreamsPerConn = inProcessStreams
	// The same gate, plus the HTTP caller's address as the peer.
	opts := append(transportOptions(inCfg, forwardedTap(gate.tap)),
		// No keepalive pings or idle close: the peer is this process.
		grpc.KeepaliveParams(keepalive.ServerParameters{}),
		grpc.ForceServerCodecV2(newRequestCodec()),
	)
	gs := grpc.NewServer(append(opts, chain...)...)
	return &inProcess{grpc: gs, lis: bufconn.Listen(inProcessBuffer)}
}

// client returns the connection to the in-process server, made on first
// use (a client holds goroutines, which a server never asked for one
// should not).
func (p *inProcess) client() *grpc.ClientConn {
	p.once.Do(func() {
		conn, err := grpc.NewClient("passthrough:///in-process",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return p.lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			// Responses are as large as the server sends (a team report of
			// thousands of agents); the default client limit is 4 MiB.
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
			grpc.WithInitialWindowSize(4<<20), grpc.WithInitialConnWindowSize(8<<20),
		)
		if err != nil {
			// NewClient fails only on a malformed target or options, all fixed here.
			panic("in-process client: " + err.Error())
		}
		p.conn = conn
	})
	return p.conn
}

// close ends the client connection, if one was made.
func (p *inProcess) close() {
	p.once.Do(func() {}) // no connection is made after this
	if p.conn != nil {
		_ = p.conn.Close()
	}
}

// forwardedTap runs the gate, then makes the address the gateway forwarded
// the call's peer, so log lines name the HTTP client rather than
// "bufconn". Only the gateway and the console can dial the in-memory
// listener, so the header is trusted here; the public server ignores it.
func forwardedTap(gate tap.ServerInHandle) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		ctx, err := gate(ctx, info)
		if err != nil {
			return nil, err
		}
		ctx = logging.InjectLogField(ctx, "transport", "http")
		if addr := forwardedFor(info.Header); addr != "" {
			ctx = peer.NewContext(ctx, &peer.Peer{Addr: forwardedAddr(addr)})
		}
		return ctx, nil
	}
}

func forwardedFor(md metadata.MD) string {
	v := md.Get(ForwardedForHeader)
	if len(v) == 0 {
		return ""
	}
	// The last hop is the one the gateway saw; bound what is logged.
	addr := strings.TrimSpace(v[len(v)-1])
	if i := strings.LastIndexByte(addr, ','); i >= 0 {
		addr = strings.TrimSpace(addr[i+1:])
	}
	if len(addr) > 64 {
		addr = addr[:64]
	}
	return addr
}

// forwardedAddr is a net.Addr of a forwarded client address.
type forwardedAddr string

func (forwardedAddr) Network() string  { return "http" }
func (a forwardedAddr) String() string { return string(a) }

// InProcess returns a client connection to the in-process server: every
// service, the same authorization and limits as the public listener, no
// TLS. Calls carry their credential as "authorization: Bearer …" metadata.
// It serves once Serve has been called, and stops with Shutdown (after
// which it is nil).
func (s *Server) InProcess() *grpc.ClientConn { return s.inproc.client() }
