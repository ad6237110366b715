package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

// TranscriptHighWater returns the highest transcript id below which every
// transcript is committed. On SQLite ids are handed out by the one writer
// inside its transaction, so the highest committed id is that. On
// PostgreSQL a sequence hands them out before commit, so a transaction
// holding a lower id can commit after one holding a higher: a SHARE lock
// waits for the writers in flight (they hold ROW EXCLUSIVE from before
// they draw an id) and the maximum is read once they are done; new writers
// wait only for that read.
func (s *Store) TranscriptHighWater(ctx context.Context) (int64, error) {
	var id int64
	var err error
	if s.dialect == dialectPostgres {
		err = s.inTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, "LOCK TABLE transcripts IN SHARE MODE"); err != nil {
				return err
			}
			return tx.GetContext(ctx, &id, "SELECT coalesce(max(id), 0) FROM transcripts")
		})
	} else {
		err = s.r.GetContext(ctx, &id, "SELECT coalesce(max(id), 0) FROM transcripts")
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: transcript high water: %w", err)
	}
	return id, nil
}

// scanWeekAfterSQL is scanWeekSQL restricted to ids above a third
// parameter, read as a range of the primary key: a top-up's cost follows
// what was ingested since the run, not the week's size. Left to itself
// SQLite walks the week's whole range of transcripts_sampling (rowids are
// in every index entry), a million entries for a top-up of a hundred
// thousand chats; NOT INDEXED still lets it use the rowid range.
func scanWeekAfterSQL(d dialect, opts store.ScanOptions) string {
	if d == dialectPostgres {
		return strings.Replace(scanWeekSQL(d, opts), "WHERE t.ended_at >= $1 AND t.ended_at < $2",
			"WHERE t.id > $3 AND t.id <= $4 AND t.id <= "+pgMaxID+" AND t.ended_at + 0 >= $1 AND t.ended_at + 0 < $2", 1)
	}
	return strings.Replace(scanWeekSQL(d, opts), " INDEXED BY transcripts_sampling", " NOT INDEXED", 1) + " AND t.id > ? AND t.id <= ?"
}

// pgMaxID bounds the key range from above on PostgreSQL, and ended_at + 0
// keeps it off the end-time index. Without both, before the table's first
// ANALYZE (after a large first ingest), the planner guessed a third of the
// table above any id and read all of it, or ANDed the key range with the
// week's million entries of the end-time index, to find no row.
const pgMaxID = "(SELECT max(id) FROM transcripts)"

// hasTranscriptsAfterSQL probes the primary key range as ScanWeekAfter
// reads it.
func hasTranscriptsAfterSQL(d dialect) string {
	if d == dialectPostgres {
		return `SELECT EXISTS (SELECT 1 FROM transcripts WHERE id > ? AND id <= ` + pgMaxID + ` AND ended_at + 0 >= ? AND ended_at + 0 < ?)`
	}
	return `SELECT EXISTS (SELECT 1 FROM transcripts NOT INDEXED WHERE id > ? AND ended_at >= ? AND ended_at < ?)`
}

// ScanWeekAfter is ScanWeek over the transcripts with an id in
// (afterID, throughID].
func (s *Store) ScanWeekAfter(ctx context.Context, from, to time.Time, afterID, throughID int64, opts store.ScanOptions, fn func(store.SampleRow) error) error {
	if throughID <= afterID {
		return nil
	}
	if s.dialect == dialectSQLite && plainScan(opts) {
		return s.scanWeekAfterChunks(ctx, from, to, afterID, throughID, fn)
	}
	return s.scanSampleRows(ctx, scanWeekAfterSQL(s.dialect, opts), opts, []any{from.UnixMilli(), to.UnixMilli(), afterID, throughID}, fn)
}

// scanAfterChunk is how many ids scanWeekAfterChunks reads per query.
const scanAfterChunk = 4096

// scanWeekAfterChunkSQL is scanWeekAfterSQL's range of ids, bounded above
// too, with its records joined as scanWeekChunkSQL joins them. The
// records are computed from the table's columns (NOT INDEXED, as in
// scanWeekAfterSQL).
func scanWeekAfterChunkSQL() string {
	return "SELECT group_concat(" + sampleRecordSQL() + ", char(30)), count(*) FROM transcripts t NOT INDEXED" +
		" WHERE t.ended_at >= ? AND t.ended_at < ? AND t.id > ? AND t.id <= ?"
}

// scanWeekAfterChunks is ScanWeekAfter on SQLite without extra columns:
// the ids in (afterID, throughID], up to the highest at the start,
// scanAfterChunk at a time, each chunk's records joined by SQLite (see
// scanWeekChunks).
func (s *Store) scanWeekAfterChunks(ctx context.Context, from, to time.Time, afterID, throughID int64, fn func(store.SampleRow) error) error {
	var top int64
	if err := s.r.GetContext(ctx, &top, "SELECT coalesce(max(id), 0) FROM transcripts"); err != nil {
		return fmt.Errorf("sqlstore: scan week: %w", err)
	}
	top = min(top, throughID)
	lo, hi := from.UnixMilli(), to.UnixMilli()
	return s.scanChunks(ctx, scanWeekAfterChunkSQL(), func(i int) ([]any, bool) {
		first := afterID + int64(i)*scanAfterChunk
		if first >= top {
			return nil, false
		}
		return []any{lo, hi, first, min(first+scanAfterChunk, top)}, true
	}, fn)
}

// PickedInWeekAfter is PickedInWeek restricted to transcript ids above
// afterID, tested on the picks' own transcript_id, which picks_week
// carries too: the week's range of that index and nothing else.
func (s *Store) PickedInWeekAfter(ctx context.Context, from, to time.Time, afterID int64) (map[[2]string]bool, error) {
	return s.pickedPairs(ctx, pickedInWeekSQL(" AND transcript_id > ?"), from.UnixMilli(), to.UnixMilli(), afterID)
}

// HasTranscriptsAfter reports whether a transcript above afterID ended in
// [from, to).
func (s *Store) HasTranscriptsAfter(ctx context.Context, from, to time.Time, afterID int64) (bool, error) {
	var found bool
	err := s.r.GetContext(ctx, &found, s.r.Rebind(hasTranscriptsAfterSQL(s.dialect)), afterID, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("sqlstore: transcripts after %d: %w", afterID, err)
	}
	return found, nil
}

// thresholdsJSON encodes handle-time thresholds as a JSON object of
// nanoseconds; nil stays NULL.
func thresholdsJSON(th map[string]time.Duration) (sql.NullString, error) {
	if th == nil {
		return sql.NullString{}, nil
	}
	ns := make(map[string]int64, len(th))
	for k, d := range th {
		ns[k] = int64(d)
	}
	b, err := json.Marshal(ns)
	return sql.NullString{String: string(b), Valid: true}, err
}

// SetRunBasis records the run's basis unless one is recorded.
func (s *Store) SetRunBasis(ctx context.Context, runID, scannedThrough int64, thresholds map[string]time.Duration) error {
	th, err := thresholdsJSON(thresholds)
	if err != nil {
		return fmt.Errorf("sqlstore: set run %d basis: %w", runID, err)
	}
	_, err = s.w.ExecContext(ctx, s.w.Rebind(`UPDATE sampling_runs SET scanned_through = ?, handle_thresholds = ?
		WHERE id = ? AND scanned_through IS NULL`), scannedThrough, th, runID)
	if err != nil {
		return fmt.Errorf("sqlstore: set run %d basis: %w", runID, err)
	}
	return nil
}

// RunScannedThrough reads the run's scanned_through; 0 when unknown.
func (s *Store) RunScannedThrough(ctx context.Context, runID int64) (int64, error) {
	var through sql.NullInt64
	err := s.r.GetContext(ctx, &through, s.r.Rebind("SELECT scanned_through FROM sampling_runs WHERE id = ?"), runID)
	if err != nil {
		return 0, notFound(err, fmt.Sprintf("run %d", runID))
	}
	return through.Int64, nil
}

// RunBasis reads the run's basis and its picks with their channels. A
// replaced pick is left out in Go: no index leads from a pick to the one
// replacing it, and the run's picks are read anyway.
func (s *Store) RunBasis(ctx context.Context, runID int64) (store.RunBasis, error) {
	var b store.RunBasis
	var head struct {
		ScannedThrough sql.NullInt64  `db:"scanned_through"`
		Thresholds     sql.NullString `db:"handle_thresholds"`
		TopUps         int            `db:"top_ups"`
	}
	err := s.r.GetContext(ctx, &head, s.r.Rebind(`SELECT scanned_through, handle_thresholds,
		(SELECT count(*) FROM run_top_ups u WHERE u.run_id = r.id) AS top_ups
		FROM sampling_runs r WHERE r.id = ?`), runID)
	if err != nil {
		return b, notFound(err, fmt.Sprintf("run %d basis", runID))
	}
	b.ScannedThrough, b.TopUps = head.ScannedThrough.Int64, head.TopUps
	if head.Thresholds.Valid {
		var ns map[string]int64
		if err := json.Unmarshal([]byte(head.Thresholds.String), &ns); err != nil {
			return b, fmt.Errorf("sqlstore: run %d basis: thresholds: %w", runID, err)
		}
		b.HandleThresholds = make(map[string]time.Duration, len(ns))
		for k, v := range ns {
			b.HandleThresholds[k] = time.Duration(v)
		}
	}
	type basisRow struct {
		ID         int64
		ReplacesID sql.NullInt64
		ExternalID string
		AgentID    string
		Reason     string
		Rank       int
		Channel    string
	}
	var rows []basisRow
	err = func() error {
		q := pickedTranscriptsSQL(s.dialect, "p.id, p.replaces_id, p.agent_id, p.reason, p.rank", " WHERE p.run_id = ? ORDER BY p.id")
		res, err := s.r.QueryContext(ctx, s.r.Rebind(q), runID)
		if err != nil {
			return err
		}
		defer func() { _ = res.Close() }()
		var f pickedFields
		var r basisRow
		dest := append(f.dest(s.dialect), &r.ID, &r.ReplacesID, &r.AgentID, &r.Reason, &r.Rank)
		for res.Next() {
			if err := res.Scan(dest...); err != nil {
				return err
			}
			if err := f.parse(s.dialect); err != nil {
				return err
			}
			r.ExternalID, r.Channel = f.externalID, f.channel
			rows = append(rows, r)
		}
		return res.Err()
	}()
	if err != nil {
		return b, fmt.Errorf("sqlstore: run %d basis: picks: %w", runID, err)
	}
	replaced := map[int64]bool{}
	for _, r := range rows {
		if r.ReplacesID.Valid {
			replaced[r.ReplacesID.Int64] = true
		}
	}
	for _, r := range rows {
		if !replaced[r.ID] {
			b.Picks = append(b.Picks, store.BasisPick{ExternalID: r.ExternalID, AgentID: r.AgentID, Reason: r.Reason, Rank: r.Rank, Channel: r.Channel})
		}
	}
	return b, nil
}

type topUpRow struct {
	ID             int64  `db:"id"`
	RunID          int64  `db:"run_id"`
	Seq            int    `db:"seq"`
	Trigger        string `db:"trigger"`
	CreatedAt      int64  `db:"created_at"`
	Picks          int    `db:"picks"`
	Shortfalls     int    `db:"shortfalls"`
	Considered     int    `db:"considered"`
	ScannedThrough int64  `db:"scanned_through"`
}

func (r *topUpRow) topUp() store.TopUp {
	return store.TopUp{
		ID: r.ID, RunID: r.RunID, Seq: r.Seq, Trigger: r.Trigger, CreatedAt: fromMillis(r.CreatedAt),
		Picks: r.Picks, Shortfalls: r.Shortfalls, Considered: r.Considered, ScannedThrough: r.ScannedThrough,
	}
}

// topUpDetail is what a run.top_up event says, the week first as in the
// run's own events.
type topUpDetail struct {
	Week            string `json:"week"`
	PolicyVersion   int64  `json:"policy_version"`
	Trigger         string `json:"trigger"`
	TopUp           int    `json:"top_up"`
	PicksAdded      int    `json:"picks_added"`
	ChatsConsidered int    `json:"chats_considered"`
	ShortfallsAfter int    `json:"shortfalls_after"`
}

const topUpColumns = `id, run_id, seq, "trigger", created_at, picks, shortfalls, considered, scanned_through`

// TopUpRun stores a top-up with its picks, marks and audit event in one
// transaction. The run row is updated first: on PostgreSQL its row lock
// queues a concurrent top-up of the same run behind this one, which then
// fails cleanly on UNIQUE (run_id, seq) instead of on the picks.
func (s *Store) TopUpRun(ctx context.Context, t store.TopUp, picks []store.Pick, thresholds map[string]time.Duration) (store.TopUp, error) {
	statuses, err := runPickStatuses(t.RunID, picks)
	if err != nil {
		return store.TopUp{}, fmt.Errorf("sqlstore: top up run %d: %w", t.RunID, err)
	}
	th, err := thresholdsJSON(thresholds)
	if err != nil {
		return store.TopUp{}, fmt.Errorf("sqlstore: top up run %d: %w", t.RunID, err)
	}
	// The caller's clock when given, as in CreateRun.
	createdAt := t.CreatedAt
	if createdAt.IsZero() {
		createdAt = s.now()
	}
	var out topUpRow
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := createdAt.UnixMilli()
		var run struct {
			Week          string `db:"week"`
			PolicyVersion int64  `db:"policy_version"`
		}
		err := tx.GetContext(ctx, &run, tx.Rebind(`UPDATE sampling_runs SET scanned_through = ?, handle_thresholds = ?
			WHERE id = ? AND completed_at IS NOT NULL RETURNING week, policy_version`), t.ScannedThrough, th, t.RunID)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := getRun(ctx, tx, t.RunID); err != nil {
				return notFound(err, fmt.Sprintf("run %d", t.RunID))
			}
			return fmt.Errorf("run %d is not complete: %w", t.RunID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		var stored int
		if err := tx.GetContext(ctx, &stored, tx.Rebind("SELECT count(*) FROM run_top_ups WHERE run_id = ?"), t.RunID); err != nil {
			return err
		}
		if stored != t.Seq-1 {
			return fmt.Errorf("run %d has %d top-ups, this one was computed after %d: %w", t.RunID, stored, t.Seq-1, store.ErrConflict)
		}
		err = tx.GetContext(ctx, &out, tx.Rebind(`INSERT INTO run_top_ups
			(run_id, seq, "trigger", created_at, picks, shortfalls, considered, scanned_through)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+topUpColumns),
			t.RunID, t.Seq, t.Trigger, now, len(picks), t.Shortfalls, t.Considered, t.ScannedThrough)
		if isUniqueViolation(err) {
			return fmt.Errorf("run %d already has top-up %d: %w", t.RunID, t.Seq, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		if err := insertPicks(ctx, tx, s.dialect, t.RunID, picks, statuses, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, runActor(t.Trigger), "run.top_up", "run", t.RunID, topUpDetail{
			Week: run.Week, PolicyVersion: run.PolicyVersion, Trigger: t.Trigger, TopUp: t.Seq,
			PicksAdded: len(picks), ChatsConsidered: t.Considered, ShortfallsAfter: t.Shortfalls,
		})
	})
	if err != nil {
		return store.TopUp{}, fmt.Errorf("sqlstore: top up run %d: %w", t.RunID, err)
	}
	return out.topUp(), nil
}

// ListTopUps returns the run's top-ups in order.
func (s *Store) ListTopUps(ctx context.Context, runID int64) ([]store.TopUp, error) {
	var rows []topUpRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind("SELECT "+topUpColumns+" FROM run_top_ups WHERE run_id = ? ORDER BY seq"), runID); err != nil {
		return nil, fmt.Errorf("sqlstore: list top-ups of run %d: %w", runID, err)
	}
	out := make([]store.TopUp, len(rows))
	for i := range rows {
		out[i] = rows[i].topUp()
	}
	return out, nil
}
