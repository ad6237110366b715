package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// PseudonymKey returns the stored pseudonym key, storing candidate if
// there is none: the table holds one row, and the first insert wins.
func (s *Store) PseudonymKey(ctx context.Context, candidate []byte) ([]byte, error) {
	if len(candidate) == 0 {
		return nil, errors.New("sqlstore: pseudonym key: empty candidate")
	}
	var key []byte
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO pseudonym_key (id, secret, created_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`), candidate, s.now().UnixMilli()); err != nil {
			return err
		}
		return tx.GetContext(ctx, &key, "SELECT secret FROM pseudonym_key WHERE id = 1")
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pseudonym key: %w", err)
	}
	return key, nil
}
