package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"qa-sampling/console"
	"qa-sampling/gateway"
	"qa-sampling/server"
)

// httpReadHeaderTimeout bounds how long a connection may take to send its
// request headers (slow-header clients); there is no write timeout, as
// feedback streams stay open for hours.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	// httpMaxHeaderBytes matches the gRPC listener's bound: headers are
	// read before the caller is authenticated.
	httpMaxHeaderBytes = 64 << 10
)

// httpFrontend is the HTTP listener: the JSON API and the console.
type httpFrontend struct {
	srv *http.Server
	lis net.Listener
	url string
}

// startHTTP listens on addr and serves the HTTP API under /qa.v1., the
// console at /, and /healthz, with TLS when tlsCfg is set (mutual TLS
// included: the same flags, the same certificate).
func startHTTP(addr, publicURL string, srv *server.Server, tlsCfg *tls.Config, log *slog.Logger) (*httpFrontend, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-listen: %w", err)
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
		tlsCfg = tlsCfg.Clone()
		tlsCfg.NextProtos = []string{"h2", "http/1.1"}
		lis = tls.NewListener(lis, tlsCfg)
	}
	if publicURL == "" {
		publicURL = scheme + "://" + lis.Addr().String()
	} else if checked, err := publicURLFlag(publicURL); err != nil {
		// The same rule as the admin commands', whose links it prints.
		_ = lis.Close()
		return nil, err
	} else {
		publicURL = checked
	}
	api := gateway.New(gateway.Config{Conn: srv.InProcess(), Admit: srv, Log: log})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Cache-Control", "no-store")
		if err := srv.Ready(ctx); err != nil {
			http.Error(w, "store not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	pages, err := console.New(console.Config{Conn: srv.InProcess(), Secure: tlsCfg != nil, Log: log})
	if err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("console: %w", err)
	}
	mux.Handle("/", pages)
	// A ServeMux pattern is a path or a subtree ending in "/"; the API is
	// every path starting with /qa.v1., so it is split off before the mux.
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, gateway.Prefix) {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	hs := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	f := &httpFrontend{srv: hs, lis: lis, url: publicURL}
	go func() {
		if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP listener failed", "err", err)
		}
	}()
	return f, nil
}

// shutdown stops accepting connections and waits for the calls in flight
// until ctx ends, then closes what is left.
func (f *httpFrontend) shutdown(ctx context.Context) {
	if err := f.srv.Shutdown(ctx); err != nil {
		_ = f.srv.Close()
	}
}
