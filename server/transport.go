package server

import (
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/tap"
)

// Keepalive: a client may ping at most every keepaliveMinPing (more often
// is abuse, answered with GOAWAY), also between calls so idle watchers
// behind load balancers keep their connection. The server pings a silent
// client after keepaliveTime and drops it if no answer comes within
// keepaliveTimeout, so a vanished peer's streams and buffers are freed; a
// connection without calls for maxConnectionIdle is closed.
const (
	keepaliveMinPing  = 10 * time.Second
	keepaliveTime     = time.Minute
	keepaliveTimeout  = 20 * time.Second
	maxConnectionIdle = 30 * time.Minute
	// maxHeaderBytes bounds a call's headers, read before authentication.
	// Ours carry a token and a few ids; grpc-go's default is 16 MiB.
	maxHeaderBytes = 64 << 10
)

// transportOptions bound what one connection can make the server hold
// before and while a call runs.
// admit is the InTapHandle: it refuses strangers from the headers, before
// a body is read.
func transportOptions(cfg Config, admit tap.ServerInHandle) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InTapHandle(admit),
		// The framing layer knows one limit for all methods: the largest.
		// requestGuard applies each method's own before decoding.
		grpc.MaxRecvMsgSize(max(cfg.MaxRecvMsgBytes, cfg.MaxRequestBytes)),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.MaxConcurrentStreams(cfg.maxStreamsPerConn()),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinPing, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout, MaxConnectionIdle: maxConnectionIdle}),
		// A transcript stream is bulk transfer: with the default 64 KiB
		// window (about 15 chats) the client stalls on flow control
		// whenever a commit makes the server pause reading. The window is
		// also what an admitted stream may buffer unread, which
		// MaxConcurrentStreams multiplies.
		grpc.InitialWindowSize(4 << 20),
		grpc.InitialConnWindowSize(8 << 20),
	}
}

// maxStreamsPerConn is MaxStreamsPerConn within what HTTP/2 can carry.
func (cfg Config) maxStreamsPerConn() uint32 {
	n := cfg.MaxStreamsPerConn
	if n <= 0 {
		n = DefaultConfig().MaxStreamsPerConn
	}
	return uint32(min(n, math.MaxUint32))
}
