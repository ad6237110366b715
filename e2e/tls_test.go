package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"qa-sampling/internal/testcerts"
)

// TestMutualTLS: with --tls-client-ca the server accepts a client with a
// certificate from that CA and refuses one without.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t)
	srvCert, srvKey := ca.Issue(t, "qad", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	cliCert, cliKey := ca.Issue(t, "platform", x509.ExtKeyUsageClientAuth)
	caFile := testcerts.WriteFile(t, dir, "ca.crt", ca.PEM)
	srvCrt := testcerts.WriteFile(t, dir, "server.crt", srvCert)
	srvKeyFile := testcerts.WriteFile(t, dir, "server.key", srvKey)
	clientPair, err := tls.X509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}

	addr := freePort(t)
	s := &server{t: t, dsn: filepath.Join(dir, "qa.db"), addr: addr,
		args: []string{"--tls-cert", srvCrt, "--tls-key", srvKeyFile, "--tls-client-ca", caFile}}
	pool := ca.Pool()
	clientTLS := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{clientPair}}
	s.startWith(clientTLS)
	t.Cleanup(s.stop)

	check := func(cfg *tls.Config) error {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(clientTLS); err != nil {
		t.Fatalf("client with a certificate from the CA: %v", err)
	}
	if err := check(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("client without a certificate was served; mutual TLS not enforced")
	}
}
