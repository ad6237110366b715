package server

import (
	"context"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/tap"
)

// AdmitHTTP admits an HTTP API call of method (/qa.v1.Service/Method)
// from its headers alone, by the transport tap itself (the same gate and
// permission table), and returns the largest request body the method accepts.
// The gateway calls it before it reads a body, so that nothing is read at
// size before the caller is authenticated (the in-process server's tap
// runs again on the call itself, from the token cache). md holds the
// call's outgoing metadata: "authorization: Bearer …".
func (s *Server) AdmitHTTP(ctx context.Context, method string, md metadata.MD) (maxBodyBytes int, err error) {
	// A public method (StartSession) carries its credential in the body,
	// which is still read only up to the method's small limit.
	if publicService(method) {
		return s.guard.limit(method), nil
	}
	// The tap itself, so that methods it lets through without a token
	// (publicService: starting a session) are admitted here alike.
	if _, err := s.gate.tap(ctx, &tap.Info{FullMethodName: method, Header: md}); err != nil {
		return 0, err
	}
	return s.guard.limit(method), nil
}

// Ready reports whether the store serves, for an HTTP health check.
func (s *Server) Ready(ctx context.Context) error { return s.store.Ready(ctx) }
