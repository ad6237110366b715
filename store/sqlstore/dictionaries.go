package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// Dictionaries returns every stored body dictionary, oldest first.
func (s *Store) Dictionaries(ctx context.Context) ([]transcript.Dictionary, error) {
	var rows []struct {
		ID   int64  `db:"id"`
		Data []byte `db:"data"`
	}
	if err := s.r.SelectContext(ctx, &rows, "SELECT id, data FROM body_dictionaries ORDER BY created_at, id"); err != nil {
		return nil, fmt.Errorf("sqlstore: list dictionaries: %w", err)
	}
	out := make([]transcript.Dictionary, len(rows))
	for i, r := range rows {
		out[i] = transcript.Dictionary{ID: uint32(r.ID), Data: r.Data}
	}
	return out, nil
}

// AddDictionary stores d; store.ErrConflict if its id is taken.
func (s *Store) AddDictionary(ctx context.Context, d transcript.Dictionary) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO body_dictionaries (id, data, created_at) VALUES (?, ?, ?)"),
			int64(d.ID), d.Data, s.now().UnixMilli())
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: dictionary %d exists: %w", d.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: add dictionary %d: %w", d.ID, err)
	}
	return nil
}

// SampleBodies returns the bodies of up to n most recently stored
// transcripts: what a new dictionary is trained on.
func (s *Store) SampleBodies(ctx context.Context, n int) ([][]byte, error) {
	var bodies [][]byte
	if err := s.r.SelectContext(ctx, &bodies, s.r.Rebind("SELECT body FROM transcripts ORDER BY id DESC LIMIT ?"), n); err != nil {
		return nil, fmt.Errorf("sqlstore: sample bodies: %w", err)
	}
	return bodies, nil
}

// loadDictionaries gives the codec every stored dictionary and makes the
// newest the one new bodies use.
func (s *Store) loadDictionaries(ctx context.Context) error {
	ds, err := s.Dictionaries(ctx)
	if err != nil || len(ds) == 0 {
		return err
	}
	use := uint32(0)
	if s.codec.Current() == 0 {
		use = ds[len(ds)-1].ID
	}
	return s.codec.Install(ds, use)
}

// decode decodes a body; a dictionary another replica trained since this
// one loaded is fetched once and the decode retried.
func (s *Store) decode(ctx context.Context, body []byte) ([]transcript.Message, map[string]string, error) {
	msgs, attrs, err := s.codec.Decode(body)
	if errors.Is(err, transcript.ErrUnknownDictionary) {
		if lerr := s.loadDictionaries(ctx); lerr != nil {
			return nil, nil, lerr
		}
		return s.codec.Decode(body)
	}
	return msgs, attrs, err
}

// Codec is the codec this store decodes bodies with, holding every stored
// dictionary; transcripts given to UpsertTranscripts should be prepared
// with it so they use the current dictionary.
func (s *Store) Codec() *transcript.Codec { return s.codec }
