// Package e2e holds end-to-end tests: they build the real qad and qactl
// binaries, start the server on a loopback port against a real SQLite file
// (and PostgreSQL when QA_TEST_POSTGRES_DSN is set) and talk gRPC to it.
package e2e
