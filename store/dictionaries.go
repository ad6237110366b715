package store

import (
	"context"

	"qa-sampling/transcript"
)

// DictionaryStore keeps the compression dictionaries transcript bodies are
// stored with (package transcript trains and uses them).
type DictionaryStore interface {
	// Dictionaries returns every stored body compression dictionary,
	// oldest first.
	Dictionaries(ctx context.Context) ([]transcript.Dictionary, error)
	// AddDictionary stores a dictionary; ErrConflict if its id exists.
	// Dictionaries are never removed: stored bodies name theirs.
	AddDictionary(ctx context.Context, d transcript.Dictionary) error
	// SampleBodies returns the bodies of up to n most recently stored
	// transcripts, to train a dictionary on.
	SampleBodies(ctx context.Context, n int) ([][]byte, error)
}
