package main

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"qa-sampling/internal/testcerts"
)

func TestMutualTLS(t *testing.T) {
	ca := testcerts.NewCA(t)
	serverCert, serverKey := ca.Issue(t, "qa.test", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.Issue(t, "ingest-bridge", x509.ExtKeyUsageClientAuth)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: ca.Pool(), ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	fake := &fakeIngest{}
	addr := startFake(t, fake, grpc.Creds(credentials.NewTLS(serverTLS)))
	caFile := writeFile(t, "ca.pem", string(ca.PEM))
	certFile := writeFile(t, "client.pem", string(clientCert))
	keyFile := writeFile(t, "client.key", string(clientKey))
	input := transcriptJSON("ok-1") + "\n"

	res := runQactl(t, input, "--addr", addr, "--ca-file", caFile, "--cert-file", certFile, "--key-file", keyFile,
		"--server-name", "qa.test", "--token", "t", "ingest", "--file", "-")
	if res.code != exitOK {
		t.Fatalf("mutual TLS: exit %d, stderr %q", res.code, res.stderr)
	}
	if got := fake.receivedIDs(); len(got) != 1 {
		t.Errorf("server received %v over TLS", got)
	}

	// Without a client certificate the server must refuse.
	res = runQactl(t, input, "--addr", addr, "--ca-file", caFile, "--server-name", "qa.test", "ingest", "--file", "-")
	if res.code != exitRPC || !strings.HasPrefix(res.stderr, "qactl: UNAVAILABLE: ") {
		t.Errorf("no client certificate: exit %d, stderr %q; want UNAVAILABLE", res.code, res.stderr)
	}

	// Plaintext against a TLS server fails too.
	res = runQactl(t, input, "--addr", addr, "ingest", "--file", "-")
	if res.code != exitRPC {
		t.Errorf("plaintext: exit %d, want %d", res.code, exitRPC)
	}

	// A CA file without certificates is a usage error, reported before dialling.
	res = runQactl(t, input, "--addr", addr, "--ca-file", writeFile(t, "empty.pem", "nothing"), "ingest", "--file", "-")
	if res.code != exitUsage || !strings.Contains(res.stderr, "--ca-file: no PEM certificate") {
		t.Errorf("bad CA file: exit %d, stderr %q", res.code, res.stderr)
	}
}
