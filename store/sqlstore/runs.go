package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"qa-sampling/store"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

type runRow struct {
	ID            int64          `db:"id"`
	Week          string         `db:"week"`
	PolicyVersion int64          `db:"policy_version"`
	Seed          []byte         `db:"seed"`
	Trigger       string         `db:"trigger"`
	CreatedAt     int64          `db:"created_at"`
	CompletedAt   sql.NullInt64  `db:"completed_at"`
	Picks         int64          `db:"picks"`
	Shortfalls    int64          `db:"shortfalls"`
	Disagreement  sql.NullString `db:"disagreement"`
}

func (r *runRow) run() (store.Run, error) {
	out := store.Run{
		ID:            r.ID,
		Week:          r.Week,
		PolicyVersion: r.PolicyVersion,
		Seed:          r.Seed,
		Trigger:       r.Trigger,
		CreatedAt:     fromMillis(r.CreatedAt),
		Picks:         int(r.Picks),
		Shortfalls:    int(r.Shortfalls),
	}
	if out.Seed == nil {
		out.Seed = []byte{}
	}
	if r.CompletedAt.Valid {
		out.CompletedAt = fromMillis(r.CompletedAt.Int64)
	}
	if r.Disagreement.Valid {
		d, err := decodeDisagreement(r.Disagreement.String)
		if err != nil {
			return store.Run{}, fmt.Errorf("run %d disagreement: %w", r.ID, err)
		}
		out.Disagreement = d
	}
	return out, nil
}

// disagreementDoc is the JSON of sampling_runs.disagreement.
type disagreementDoc struct {
	Rules           []string      `json:"rules"`
	FromWeek        string        `json:"from_week"`
	ToWeek          string        `json:"to_week"`
	ReviewsBeforeMS int64         `json:"reviews_before_ms"`
	CheckSetVersion int64         `json:"check_set_version"`
	Reviews         int           `json:"reviews"`
	Weights         []checkWeight `json:"weights"`
}

type checkWeight struct {
	Check     string  `json:"check"`
	Dimension string  `json:"dimension"`
	TP        int64   `json:"tp"`
	FP        int64   `json:"fp"`
	Weight    float64 `json:"weight"`
}

// disagreementJSON encodes d; nil stays NULL. Weights round-trip exactly
// (encoding/json writes the shortest decimal that reads back the same).
func disagreementJSON(d *store.RunDisagreement) (sql.NullString, error) {
	if d == nil {
		return sql.NullString{}, nil
	}
	doc := disagreementDoc{Rules: d.Rules, FromWeek: d.FromWeek, ToWeek: d.ToWeek, ReviewsBeforeMS: d.ReviewsBefore.UnixMilli(),
		CheckSetVersion: d.CheckSetVersion, Reviews: d.Reviews, Weights: make([]checkWeight, len(d.Weights))}
	if doc.Rules == nil {
		doc.Rules = []string{}
	}
	for i, w := range d.Weights {
		doc.Weights[i] = checkWeight(w)
	}
	b, err := json.Marshal(doc)
	return sql.NullString{String: string(b), Valid: true}, err
}

func decodeDisagreement(s string) (*store.RunDisagreement, error) {
	var doc disagreementDoc
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, err
	}
	out := &store.RunDisagreement{Rules: doc.Rules, FromWeek: doc.FromWeek, ToWeek: doc.ToWeek,
		ReviewsBefore: fromMillis(doc.ReviewsBeforeMS), CheckSetVersion: doc.CheckSetVersion, Reviews: doc.Reviews,
		Weights: make([]store.CheckWeight, len(doc.Weights))}
	for i, w := range doc.Weights {
		out.Weights[i] = store.CheckWeight(w)
	}
	return out, nil
}

// "trigger" is a keyword in both dialects, so it is always quoted.
const runColumns = `id, week, policy_version, seed, "trigger", created_at, completed_at, picks, shortfalls, disagreement`

// queryer is a *sqlx.DB or a *sqlx.Tx.
type queryer interface {
	sqlx.QueryerContext
	Rebind(query string) string
}

func getRun(ctx context.Context, q queryer, id int64) (runRow, error) {
	var r runRow
	err := sqlx.GetContext(ctx, q, &r, q.Rebind("SELECT "+runColumns+" FROM sampling_runs WHERE id = ?"), id)
	return r, err
}

// CreateRun inserts the run unless (week, policy version) exists, then
// reads whichever run holds the key. r.CreatedAt is stored when set (now
// otherwise); Picks, Shortfalls and CompletedAt start empty.
func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	if r.Week == "" {
		return store.Run{}, false, errors.New("sqlstore: create run: empty week")
	}
	seed := r.Seed
	if seed == nil {
		seed = []byte{} // NOT NULL; a nil slice would bind as NULL
	}
	// The caller's clock, when given, so that a job deciding whether a
	// run is stale compares times of one clock.
	createdAt := r.CreatedAt
	if createdAt.IsZero() {
		createdAt = s.now()
	}
	disagreement, err := disagreementJSON(r.Disagreement)
	if err != nil {
		return store.Run{}, false, fmt.Errorf("sqlstore: create run %s policy %d: %w", r.Week, r.PolicyVersion, err)
	}
	var run store.Run
	var created bool
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		// A concurrent inserter of the same key makes this wait for its
		// commit (PostgreSQL) or its whole transaction (SQLite's single
		// writer), after which DO NOTHING applies and the SELECT, in a
		// fresh snapshot, sees its run.
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO sampling_runs
			(week, policy_version, seed, "trigger", created_at, picks, shortfalls, disagreement) VALUES (?, ?, ?, ?, ?, 0, 0, ?)
			ON CONFLICT (week, policy_version) DO NOTHING`), r.Week, r.PolicyVersion, seed, r.Trigger, createdAt.UnixMilli(), disagreement)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		created = n == 1
		var row runRow
		if err := tx.GetContext(ctx, &row, tx.Rebind("SELECT "+runColumns+" FROM sampling_runs WHERE week = ? AND policy_version = ?"),
			r.Week, r.PolicyVersion); err != nil {
			return err
		}
		if run, err = row.run(); err != nil || !created {
			return err
		}
		return s.audit(ctx, tx, runActor(row.Trigger), "run.create", "run", row.ID, runEvent(run, false))
	})
	if err != nil {
		return store.Run{}, false, fmt.Errorf("sqlstore: create run %s policy %d: %w", r.Week, r.PolicyVersion, err)
	}
	return run, created, nil
}

// WeekSeed inserts candidate unless the week has a seed, then reads the
// week's seed, in one transaction: as in CreateRun, a concurrent inserter
// makes this wait for its commit, after which DO NOTHING applies.
func (s *Store) WeekSeed(ctx context.Context, week string, candidate []byte, createdAt time.Time) ([]byte, error) {
	if week == "" || len(candidate) == 0 {
		return nil, errors.New("sqlstore: week seed: empty week or seed")
	}
	var seed []byte
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO week_seeds (week, seed, created_at) VALUES (?, ?, ?)
			ON CONFLICT (week) DO NOTHING`), week, candidate, createdAt.UnixMilli()); err != nil {
			return err
		}
		return tx.GetContext(ctx, &seed, tx.Rebind("SELECT seed FROM week_seeds WHERE week = ?"), week)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: week seed %s: %w", week, err)
	}
	return seed, nil
}

// GetRun returns one run, or store.ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id int64) (store.Run, error) {
	r, err := getRun(ctx, s.r, id)
	if err != nil {
		return store.Run{}, notFound(err, fmt.Sprintf("run %d", id))
	}
	run, err := r.run()
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlstore: %w", err)
	}
	return run, nil
}

// ListRuns returns the runs of week (all when empty), newest first.
func (s *Store) ListRuns(ctx context.Context, week string) ([]store.Run, error) {
	q := "SELECT " + runColumns + " FROM sampling_runs"
	var args []any
	if week != "" {
		q += " WHERE week = ?"
		args = append(args, week)
	}
	var rows []runRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q+" ORDER BY id DESC"), args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list runs: %w", err)
	}
	out := make([]store.Run, len(rows))
	for i := range rows {
		run, err := rows[i].run()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list runs: %w", err)
		}
		out[i] = run
	}
	return out, nil
}

// RunAgents counts the distinct agents of a run's picks (picks_run
// narrows it to the run's rows).
func (s *Store) RunAgents(ctx context.Context, runID int64) (int, error) {
	var n int
	if err := s.r.GetContext(ctx, &n, s.r.Rebind("SELECT COUNT(DISTINCT agent_id) FROM picks WHERE run_id = ?"), runID); err != nil {
		return 0, fmt.Errorf("sqlstore: agents of run %d: %w", runID, err)
	}
	return n, nil
}

// pickedTranscript is what a pick needs of its transcript.
type pickedTranscript struct {
	ExternalID string `db:"external_id"`
	ID         int64  `db:"id"`
	EndedAt    int64  `db:"ended_at"`
}

// pickedTranscripts returns what the picks of externalIDs need of their
// transcripts; ErrNotFound names the first unknown one. The picks' insert
// in the same transaction freezes them (frozenSQL). On SQLite that is all:
// the rows are only read, through the external_id index, and no table
// page is written. On PostgreSQL the rows are also marked sampled, in one
// UPDATE ... RETURNING: the row lock makes a concurrent push of a picked
// transcript wait for the run's commit and then see the mark, where the
// pick alone, not yet visible to the push's snapshot, would let it
// through. Ids go in sorted order, which is the order concurrent
// PostgreSQL writers then lock rows in.
func pickedTranscripts(ctx context.Context, tx *sqlx.Tx, d dialect, externalIDs []string) (map[string]pickedTranscript, error) {
	ids := slices.Clone(externalIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[string]pickedTranscript, len(ids))
	collect := func(query string, part []string) error {
		q, args, err := sqlx.In(query, part)
		if err != nil {
			return err
		}
		var rows []pickedTranscript
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return err
		}
		for _, r := range rows {
			out[r.ExternalID] = r
		}
		return nil
	}
	rest := ids
	if d == dialectPostgres {
		for _, c := range chunks(len(ids), chunkRows) {
			err := collect("UPDATE transcripts SET sampled = TRUE WHERE external_id IN (?) AND NOT sampled RETURNING external_id, id, ended_at", ids[c[0]:c[1]])
			if err != nil {
				return nil, err
			}
		}
		// Those already sampled (picked for another agent before) were
		// not rewritten; read them.
		rest = nil
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				rest = append(rest, id)
			}
		}
	}
	for _, c := range chunks(len(rest), chunkRows) {
		if err := collect("SELECT external_id, id, ended_at FROM transcripts WHERE external_id IN (?)", rest[c[0]:c[1]]); err != nil {
			return nil, err
		}
	}
	for _, id := range rest {
		if _, ok := out[id]; !ok {
			return nil, fmt.Errorf("transcript %q: %w", id, store.ErrNotFound)
		}
	}
	return out, nil
}

// pickStatus is p's status; empty means assigned when p has an inspector
// and pool otherwise. An assigned pick must name its inspector, or it would
// sit in no one's queue.
func pickStatus(p *store.Pick) (store.PickStatus, error) {
	st := p.Status
	if st == "" {
		st = store.PickPool
		if p.InspectorID != "" {
			st = store.PickAssigned
		}
	}
	if st == store.PickAssigned && p.InspectorID == "" {
		return "", fmt.Errorf("pick of %q for %q: assigned without an inspector", p.ExternalID, p.AgentID)
	}
	return st, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// pickInsertColumns are bound per row by appendPickArgs, in this order.
// A pick copies its transcript's external id and end time, which a frozen
// transcript keeps (PickedInWeek reads them from picks alone).
const pickInsertColumns = `run_id, transcript_id, external_id, agent_id, ended_at, reason, rank, hash_key,
	inspector_id, status, skip_reason, replaces_id, created_at, updated_at`

const pickInsertRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

func appendPickArgs(args []any, runID int64, p *store.Pick, t pickedTranscript, status store.PickStatus, now int64) []any {
	return append(args, runID, t.ID, t.ExternalID, p.AgentID, t.EndedAt, p.Reason, int64(p.Rank), int64(p.Key),
		nullString(p.InspectorID), string(status), p.SkipReason, nullID(p.ReplacesID), now, now)
}

// CompleteRun claims the run, writes the picks, which freezes their
// transcripts, and reads the run back, all in one transaction.
func (s *Store) CompleteRun(ctx context.Context, runID int64, picks []store.Pick, shortfalls int) (store.Run, error) {
	statuses, err := runPickStatuses(runID, picks)
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlstore: complete run %d: %w", runID, err)
	}
	var run store.Run
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now().UnixMilli()
		// Claiming first (the row lock on PostgreSQL) makes a concurrent
		// CompleteRun of the same run wait here and then fail cleanly,
		// rather than collide on the picks.
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE sampling_runs SET completed_at = ?, picks = ?, shortfalls = ?
			WHERE id = ? AND completed_at IS NULL`), now, int64(len(picks)), int64(shortfalls), runID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := getRun(ctx, tx, runID); err != nil {
				return notFound(err, fmt.Sprintf("run %d", runID))
			}
			return fmt.Errorf("run %d is already complete: %w", runID, store.ErrConflict)
		}
		if err := insertPicks(ctx, tx, s.dialect, runID, picks, statuses, now); err != nil {
			return err
		}
		row, err := getRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		if run, err = row.run(); err != nil {
			return err
		}
		return s.audit(ctx, tx, runActor(row.Trigger), "run.complete", "run", runID, runEvent(run, true))
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlstore: complete run %d: %w", runID, err)
	}
	return run, nil
}

// runPickStatuses checks that picks belong to run runID (or name no run)
// and returns their statuses (pickStatus), for insertPicks.
func runPickStatuses(runID int64, picks []store.Pick) ([]store.PickStatus, error) {
	statuses := make([]store.PickStatus, len(picks))
	for i := range picks {
		if picks[i].RunID != 0 && picks[i].RunID != runID {
			return nil, fmt.Errorf("pick %d belongs to run %d", i, picks[i].RunID)
		}
		st, err := pickStatus(&picks[i])
		if err != nil {
			return nil, err
		}
		statuses[i] = st
	}
	return statuses, nil
}

// insertPicks inserts picks with their statuses, in the caller's order so
// that ids follow it, which freezes their transcripts (see
// pickedTranscripts).
//
// On SQLite each chunk's transcripts are read just before the chunk is
// inserted: the insert's foreign-key check reads the same table pages,
// which are then still in the page cache, where reading all 10,000 first
// had pushed the first ones out again. PostgreSQL reads (and marks) them
// all first, in sorted order (see pickedTranscripts).
func insertPicks(ctx context.Context, tx *sqlx.Tx, d dialect, runID int64, picks []store.Pick, statuses []store.PickStatus, now int64) error {
	transcriptsOf := func(part []store.Pick) (map[string]pickedTranscript, error) {
		external := make([]string, len(part))
		for i := range part {
			external[i] = part[i].ExternalID
		}
		return pickedTranscripts(ctx, tx, d, external)
	}
	var ts map[string]pickedTranscript
	if d == dialectPostgres {
		var err error
		if ts, err = transcriptsOf(picks); err != nil {
			return err
		}
	}
	for _, c := range chunks(len(picks), chunkRows) {
		if d == dialectSQLite {
			var err error
			if ts, err = transcriptsOf(picks[c[0]:c[1]]); err != nil {
				return err
			}
		}
		args := make([]any, 0, 14*(c[1]-c[0]))
		for i := c[0]; i < c[1]; i++ {
			args = appendPickArgs(args, runID, &picks[i], ts[picks[i].ExternalID], statuses[i], now)
		}
		q := tx.Rebind("INSERT INTO picks (" + pickInsertColumns + ") VALUES " + valuesList(c[1]-c[0], pickInsertRow))
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return pickWriteError(err)
		}
	}
	return nil
}
