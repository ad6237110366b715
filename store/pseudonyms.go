package store

import "context"

// PseudonymKeyStore keeps the secret that ingest keys the pseudonyms of
// customers' personal data in identifier fields with (package redact):
// made once, kept for the life of the database, so that a customer's
// pseudonym never changes.
type PseudonymKeyStore interface {
	// PseudonymKey returns the stored key, storing candidate first if no
	// key is stored yet. Concurrent first calls (also from other replicas
	// sharing the database) all get the one key that was stored.
	PseudonymKey(ctx context.Context, candidate []byte) ([]byte, error)
}
