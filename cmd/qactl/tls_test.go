package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// testCA issues certificates for the mutual TLS test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "qactl test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for name, usable as usage says.
func (ca *testCA) issue(t *testing.T, name string, serial int64, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, "qa.test", 2, x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.issue(t, "ingest-bridge", 3, x509.ExtKeyUsageClientAuth)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	fake := &fakeIngest{}
	addr := startFake(t, fake, grpc.Creds(credentials.NewTLS(serverTLS)))
	caFile := writeFile(t, "ca.pem", string(ca.pem))
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
	if res.code != exitFailure || !strings.HasPrefix(res.stderr, "qactl: UNAVAILABLE: ") {
		t.Errorf("no client certificate: exit %d, stderr %q; want UNAVAILABLE", res.code, res.stderr)
	}

	// Plaintext against a TLS server fails too.
	res = runQactl(t, input, "--addr", addr, "ingest", "--file", "-")
	if res.code != exitFailure {
		t.Errorf("plaintext: exit %d, want %d", res.code, exitFailure)
	}

	// A CA file without certificates is a usage error, reported before dialling.
	res = runQactl(t, input, "--addr", addr, "--ca-file", writeFile(t, "empty.pem", "nothing"), "ingest", "--file", "-")
	if res.code != exitFailure || !strings.Contains(res.stderr, "--ca-file: no PEM certificate") {
		t.Errorf("bad CA file: exit %d, stderr %q", res.code, res.stderr)
	}
}
