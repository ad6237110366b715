package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"qa-sampling/transcript"
)

// backfillBatch is how many rows backfillOwnerWrote decodes per
// transaction: short enough not to hold SQLite's writer for long.
const backfillBatch = 500

// backfillOwnerWrote sets owner_wrote of the rows migration 00008 listed in
// owner_wrote_pending (those stored with secondary authors before the
// column existed) from their bodies, which only Go can decode, and empties
// the list. It runs after every migration and does nothing once the list
// is empty. Each batch is one transaction that reads, updates and unlists
// its rows, so an interrupted backfill resumes where it stopped, and
// replicas running it at once agree: a row re-pushed meanwhile (its
// content hash changed) already has the value of its new body and is only
// unlisted. A body that cannot be decoded keeps the default, counting for
// its owner as before the column, and is reported.
func (s *Store) backfillOwnerWrote(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("sqlstore: backfill owner_wrote: %w", err)
		}
	}()
	dictionariesLoaded := false
	for {
		var pending []struct {
			ID          int64  `db:"id"`
			AgentID     string `db:"agent_id"`
			ContentHash []byte `db:"content_hash"`
			Body        []byte `db:"body"`
		}
		done := false
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			pending = pending[:0]
			if err := tx.SelectContext(ctx, &pending, tx.Rebind(`SELECT t.id, t.agent_id, t.content_hash, t.body
				FROM owner_wrote_pending p JOIN transcripts t ON t.id = p.transcript_id
				ORDER BY p.transcript_id LIMIT ?`), backfillBatch); err != nil {
				return err
			}
			if len(pending) == 0 {
				done = true
				return nil
			}
			if !dictionariesLoaded {
				if err := s.installDictionaries(ctx, tx); err != nil {
					return err
				}
				dictionariesLoaded = true
			}
			ids := make([]int64, len(pending))
			for i, r := range pending {
				ids[i] = r.ID
				msgs, _, err := s.codec.Decode(r.Body)
				if err != nil {
					s.log.WarnContext(ctx, "owner_wrote backfill: body cannot be decoded; the conversation keeps counting for its agent",
						"transcript_id", r.ID, "agent_id", r.AgentID, "err", err)
					continue
				}
				t := transcript.Transcript{AgentID: r.AgentID, Messages: msgs}
				if transcript.OwnerWrote(&t) {
					continue // the default
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE transcripts SET owner_wrote = FALSE WHERE id = ? AND content_hash = ?"),
					r.ID, r.ContentHash); err != nil {
					return err
				}
			}
			q, args, err := sqlx.In("DELETE FROM owner_wrote_pending WHERE transcript_id IN (?)", ids)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, tx.Rebind(q), args...)
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

// installDictionaries gives the codec every stored dictionary for decoding,
// read through tx: backfillOwnerWrote runs before Open loads them.
func (s *Store) installDictionaries(ctx context.Context, tx *sqlx.Tx) error {
	var rows []struct {
		ID   int64  `db:"id"`
		Data []byte `db:"data"`
	}
	if err := tx.SelectContext(ctx, &rows, "SELECT id, data FROM body_dictionaries"); err != nil {
		return err
	}
	ds := make([]transcript.Dictionary, len(rows))
	for i, r := range rows {
		ds[i] = transcript.Dictionary{ID: uint32(r.ID), Data: r.Data}
	}
	return s.codec.Install(ds, 0)
}
