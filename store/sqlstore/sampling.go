package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"qa-sampling/store"
)

const pgForeignKeyViolation = "23503"

// isForeignKeyViolation reports a reference to a row that does not exist.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgForeignKeyViolation
}

// pickWriteError maps the constraint failures of writing picks to the
// store's sentinels.
func pickWriteError(err error) error {
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("a transcript is already picked for that agent: %w (%w)", store.ErrConflict, err)
	case isForeignKeyViolation(err):
		return fmt.Errorf("unknown agent, inspector or replaced pick: %w (%w)", store.ErrNotFound, err)
	}
	return err
}

// ---- Inspectors

type inspectorRow struct {
	ID        string `db:"id"`
	Name      string `db:"name"`
	Active    bool   `db:"active"`
	CreatedAt int64  `db:"created_at"`
	UpdatedAt int64  `db:"updated_at"`
}

// UpsertInspector creates or updates an inspector; an inspector whose name
// and active flag match is left alone, updated_at too.
func (s *Store) UpsertInspector(ctx context.Context, in store.Inspector) (store.Outcome, error) {
	if in.ID == "" {
		return 0, errors.New("sqlstore: upsert inspector: empty id")
	}
	now := s.now().UnixMilli()
	var out store.Outcome
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// As in UpsertAgents: each statement's row count says what
		// happened, even under concurrent writers.
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO inspectors (id, name, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`), in.ID, in.Name, in.Active, now, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			out = store.Created
			return nil
		}
		res, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE inspectors SET name = ?, active = ?, updated_at = ?
			WHERE id = ? AND (name, active) <> (?, ?)`), in.Name, in.Active, now, in.ID, in.Name, in.Active)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		out = store.Unchanged
		if n == 1 {
			out = store.Updated
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: upsert inspector %q: %w", in.ID, err)
	}
	return out, nil
}

// ListInspectors returns every inspector, by id.
func (s *Store) ListInspectors(ctx context.Context) ([]store.Inspector, error) {
	var rows []inspectorRow
	if err := s.r.SelectContext(ctx, &rows, "SELECT id, name, active, created_at, updated_at FROM inspectors ORDER BY id"); err != nil {
		return nil, fmt.Errorf("sqlstore: list inspectors: %w", err)
	}
	out := make([]store.Inspector, len(rows))
	for i, r := range rows {
		out[i] = store.Inspector{ID: r.ID, Name: r.Name, Active: r.Active, CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt)}
	}
	return out, nil
}

// ---- Policies

type policyRow struct {
	Version   int64  `db:"version"`
	Document  string `db:"document"`
	CreatedBy string `db:"created_by"`
	CreatedAt int64  `db:"created_at"`
}

func (r *policyRow) policy() store.PolicyVersion {
	return store.PolicyVersion{Version: r.Version, Document: []byte(r.Document), CreatedBy: r.CreatedBy, CreatedAt: fromMillis(r.CreatedAt)}
}

const policyColumns = "version, document, created_by, created_at"

// AddPolicyVersion stores document as version max+1, unless the latest
// version holds the same bytes: then that version is returned and nothing
// is written, so that replicas storing the same default on first use, or
// an admin saving twice, end up with one version.
func (s *Store) AddPolicyVersion(ctx context.Context, document []byte, createdBy string) (store.PolicyVersion, error) {
	var out store.PolicyVersion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == dialectPostgres {
			// Two writers at once would both read the same latest version;
			// the lock (a mode that conflicts with itself, not with
			// readers) makes the second wait and read the first's. SQLite's
			// write transactions are serial anyway.
			if _, err := tx.ExecContext(ctx, "LOCK TABLE sampling_policies IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		var latest policyRow
		err := tx.GetContext(ctx, &latest, "SELECT "+policyColumns+" FROM sampling_policies ORDER BY version DESC LIMIT 1")
		switch {
		case err == nil && latest.Document == string(document):
			out = latest.policy()
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now := s.now().UnixMilli()
		out = store.PolicyVersion{Version: latest.Version + 1, Document: bytes.Clone(document), CreatedBy: createdBy, CreatedAt: fromMillis(now)}
		_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO sampling_policies ("+policyColumns+") VALUES (?, ?, ?, ?)"),
			out.Version, string(document), createdBy, now)
		return err
	})
	if err != nil {
		return store.PolicyVersion{}, fmt.Errorf("sqlstore: add policy version: %w", err)
	}
	return out, nil
}

// LatestPolicy returns the newest policy version, or store.ErrNotFound.
func (s *Store) LatestPolicy(ctx context.Context) (store.PolicyVersion, error) {
	var r policyRow
	if err := s.r.GetContext(ctx, &r, "SELECT "+policyColumns+" FROM sampling_policies ORDER BY version DESC LIMIT 1"); err != nil {
		return store.PolicyVersion{}, notFound(err, "latest policy")
	}
	return r.policy(), nil
}

// GetPolicy returns one policy version, or store.ErrNotFound.
func (s *Store) GetPolicy(ctx context.Context, version int64) (store.PolicyVersion, error) {
	var r policyRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind("SELECT "+policyColumns+" FROM sampling_policies WHERE version = ?"), version); err != nil {
		return store.PolicyVersion{}, notFound(err, fmt.Sprintf("policy version %d", version))
	}
	return r.policy(), nil
}

// ---- Runs

type runRow struct {
	ID            int64         `db:"id"`
	Week          string        `db:"week"`
	PolicyVersion int64         `db:"policy_version"`
	Seed          []byte        `db:"seed"`
	Trigger       string        `db:"trigger"`
	CreatedAt     int64         `db:"created_at"`
	CompletedAt   sql.NullInt64 `db:"completed_at"`
	Picks         int64         `db:"picks"`
	Shortfalls    int64         `db:"shortfalls"`
}

func (r *runRow) run() store.Run {
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
	return out
}

// "trigger" is a keyword in both dialects, so it is always quoted.
const runColumns = `id, week, policy_version, seed, "trigger", created_at, completed_at, picks, shortfalls`

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
	var row runRow
	var created bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// A concurrent inserter of the same key makes this wait for its
		// commit (PostgreSQL) or its whole transaction (SQLite's single
		// writer), after which DO NOTHING applies and the SELECT, in a
		// fresh snapshot, sees its run.
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO sampling_runs
			(week, policy_version, seed, "trigger", created_at, picks, shortfalls) VALUES (?, ?, ?, ?, ?, 0, 0)
			ON CONFLICT (week, policy_version) DO NOTHING`), r.Week, r.PolicyVersion, seed, r.Trigger, createdAt.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		created = n == 1
		return tx.GetContext(ctx, &row, tx.Rebind("SELECT "+runColumns+" FROM sampling_runs WHERE week = ? AND policy_version = ?"),
			r.Week, r.PolicyVersion)
	})
	if err != nil {
		return store.Run{}, false, fmt.Errorf("sqlstore: create run %s policy %d: %w", r.Week, r.PolicyVersion, err)
	}
	return row.run(), created, nil
}

// GetRun returns one run, or store.ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id int64) (store.Run, error) {
	r, err := getRun(ctx, s.r, id)
	if err != nil {
		return store.Run{}, notFound(err, fmt.Sprintf("run %d", id))
	}
	return r.run(), nil
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
		out[i] = rows[i].run()
	}
	return out, nil
}

// pickedTranscript is what a pick needs of its transcript.
type pickedTranscript struct {
	ID      int64 `db:"id"`
	EndedAt int64 `db:"ended_at"`
}

// freezeTranscripts marks the transcripts of externalIDs sampled and
// returns what their picks need of them; ErrNotFound names the first
// unknown one. Marking and reading in one UPDATE ... RETURNING visits each
// row once: picks are spread over the week, so on SQLite each is a page
// of its own, read and written back. Ids go in sorted order, which is the
// order concurrent PostgreSQL writers then lock rows in.
func freezeTranscripts(ctx context.Context, tx *sqlx.Tx, externalIDs []string) (map[string]pickedTranscript, error) {
	ids := slices.Clone(externalIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[string]pickedTranscript, len(ids))
	collect := func(query string, part []string) error {
		q, args, err := sqlx.In(query, part)
		if err != nil {
			return err
		}
		var rows []struct {
			ExternalID string `db:"external_id"`
			pickedTranscript
		}
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return err
		}
		for _, r := range rows {
			out[r.ExternalID] = r.pickedTranscript
		}
		return nil
	}
	for _, c := range chunks(len(ids), chunkRows) {
		err := collect("UPDATE transcripts SET sampled = TRUE WHERE external_id IN (?) AND NOT sampled RETURNING external_id, id, ended_at", ids[c[0]:c[1]])
		if err != nil {
			return nil, err
		}
	}
	// Those already sampled (picked for another agent before) were not
	// rewritten; read them.
	var rest []string
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			rest = append(rest, id)
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
const pickInsertColumns = `run_id, transcript_id, agent_id, ended_at, reason, rank, hash_key,
	inspector_id, status, skip_reason, replaces_id, created_at, updated_at`

const pickInsertRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

func appendPickArgs(args []any, runID int64, p *store.Pick, t pickedTranscript, status store.PickStatus, now int64) []any {
	return append(args, runID, t.ID, p.AgentID, t.EndedAt, p.Reason, int64(p.Rank), int64(p.Key),
		nullString(p.InspectorID), string(status), p.SkipReason, nullID(p.ReplacesID), now, now)
}

// CompleteRun claims the run, freezes the picked transcripts, writes the
// picks and reads the run back, all in one transaction.
func (s *Store) CompleteRun(ctx context.Context, runID int64, picks []store.Pick, shortfalls int) (store.Run, error) {
	statuses := make([]store.PickStatus, len(picks))
	external := make([]string, len(picks))
	for i := range picks {
		if picks[i].RunID != 0 && picks[i].RunID != runID {
			return store.Run{}, fmt.Errorf("sqlstore: complete run %d: pick %d belongs to run %d", runID, i, picks[i].RunID)
		}
		st, err := pickStatus(&picks[i])
		if err != nil {
			return store.Run{}, fmt.Errorf("sqlstore: complete run %d: %w", runID, err)
		}
		statuses[i], external[i] = st, picks[i].ExternalID
	}
	var row runRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
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
		ts, err := freezeTranscripts(ctx, tx, external)
		if err != nil {
			return err
		}
		// Picks are inserted in the caller's order, so that ids follow it.
		for _, c := range chunks(len(picks), chunkRows) {
			args := make([]any, 0, 13*(c[1]-c[0]))
			for i := c[0]; i < c[1]; i++ {
				args = appendPickArgs(args, runID, &picks[i], ts[picks[i].ExternalID], statuses[i], now)
			}
			q := tx.Rebind("INSERT INTO picks (" + pickInsertColumns + ") VALUES " + valuesList(c[1]-c[0], pickInsertRow))
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return pickWriteError(err)
			}
		}
		row, err = getRun(ctx, tx, runID)
		return err
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlstore: complete run %d: %w", runID, err)
	}
	return row.run(), nil
}

// ---- Picks

type pickRow struct {
	ID          int64          `db:"id"`
	RunID       int64          `db:"run_id"`
	ExternalID  string         `db:"external_id"`
	AgentID     string         `db:"agent_id"`
	Reason      string         `db:"reason"`
	Rank        int64          `db:"rank"`
	HashKey     int64          `db:"hash_key"`
	InspectorID sql.NullString `db:"inspector_id"`
	Status      string         `db:"status"`
	SkipReason  string         `db:"skip_reason"`
	ReplacesID  sql.NullInt64  `db:"replaces_id"`
	CreatedAt   int64          `db:"created_at"`
	UpdatedAt   int64          `db:"updated_at"`
}

func (r *pickRow) pick() store.Pick {
	return store.Pick{
		ID:          r.ID,
		RunID:       r.RunID,
		ExternalID:  r.ExternalID,
		AgentID:     r.AgentID,
		Reason:      r.Reason,
		Rank:        int(r.Rank),
		Key:         uint64(r.HashKey),
		InspectorID: r.InspectorID.String,
		Status:      store.PickStatus(r.Status),
		SkipReason:  r.SkipReason,
		ReplacesID:  r.ReplacesID.Int64,
		CreatedAt:   fromMillis(r.CreatedAt),
		UpdatedAt:   fromMillis(r.UpdatedAt),
	}
}

const pickSelect = `SELECT p.id, p.run_id, t.external_id, p.agent_id, p.reason, p.rank, p.hash_key,
	p.inspector_id, p.status, p.skip_reason, p.replaces_id, p.created_at, p.updated_at
	FROM picks p JOIN transcripts t ON t.id = p.transcript_id`

func getPick(ctx context.Context, tx *sqlx.Tx, id int64) (store.Pick, error) {
	var r pickRow
	if err := tx.GetContext(ctx, &r, tx.Rebind(pickSelect+" WHERE p.id = ?"), id); err != nil {
		return store.Pick{}, err
	}
	return r.pick(), nil
}

// ListPicks returns the picks matching f, in id order.
func (s *Store) ListPicks(ctx context.Context, f store.PickFilter) ([]store.Pick, error) {
	var fq filterQuery
	if f.RunID != 0 {
		fq.add("p.run_id = ?", f.RunID)
	}
	if f.Week != "" {
		// A week has a run per policy version, a handful at most.
		fq.add("p.run_id IN (SELECT id FROM sampling_runs WHERE week = ?)", f.Week)
	}
	if f.AgentID != "" {
		fq.add("p.agent_id = ?", f.AgentID)
	}
	if f.Reason != "" {
		fq.add("p.reason = ?", f.Reason)
	}
	if f.InspectorID != "" {
		fq.add("p.inspector_id = ?", f.InspectorID)
	}
	if f.Status != "" {
		fq.add("p.status = ?", string(f.Status))
	}
	if f.AfterID != 0 {
		fq.add("p.id > ?", f.AfterID)
	}
	q, args := fq.build(pickSelect, "p.id", f.Limit)
	var rows []pickRow
	// Prepared: an inspector's every action looks up their item here.
	if err := s.readSelect(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list picks: %w", err)
	}
	out := make([]store.Pick, len(rows))
	for i := range rows {
		out[i] = rows[i].pick()
	}
	return out, nil
}

// InspectorLoads counts the open work of each active inspector: assigned
// picks and disputed ones waiting for them to re-score.
func (s *Store) InspectorLoads(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		ID   string `db:"id"`
		Load int64  `db:"n"`
	}
	// Two range counts on picks_queue per active inspector.
	err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT i.id AS id,
		(SELECT COUNT(*) FROM picks p WHERE p.inspector_id = i.id AND p.status IN (?, ?)) AS n
		FROM inspectors i WHERE i.active`), string(store.PickAssigned), string(store.PickDisputed))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: inspector loads: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.ID] = int(r.Load)
	}
	return out, nil
}

const recentInspectorsSQL = `SELECT inspector_id FROM picks
	WHERE agent_id = ? AND inspector_id IS NOT NULL
	GROUP BY inspector_id ORDER BY MAX(id) DESC LIMIT ?`

// RecentInspectorsOf returns the distinct inspectors of agentID's picks,
// the one with the most recent pick first, at most limit.
func (s *Store) RecentInspectorsOf(ctx context.Context, agentID string, limit int) ([]string, error) {
	if limit <= 0 {
		return []string{}, nil
	}
	out := []string{}
	err := s.r.SelectContext(ctx, &out, s.r.Rebind(recentInspectorsSQL), agentID, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: recent inspectors of %q: %w", agentID, err)
	}
	return out, nil
}

// UpdatePick sets inspector, status and skip reason if the status is
// still from (compare-and-set, so that two inspectors acting on one item,
// or a release racing a skip, cannot both win).
func (s *Store) UpdatePick(ctx context.Context, id int64, from store.PickStatus, p store.Pick) (store.Pick, error) {
	status, err := pickStatus(&p)
	if err != nil {
		return store.Pick{}, fmt.Errorf("sqlstore: update pick %d: %w", id, err)
	}
	var out store.Pick
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE picks SET inspector_id = ?, status = ?, skip_reason = ?, updated_at = ?
			WHERE id = ? AND status = ?`), nullString(p.InspectorID), string(status), p.SkipReason, s.now().UnixMilli(), id, string(from))
		if err != nil {
			return pickWriteError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var current string
			if err := tx.GetContext(ctx, &current, tx.Rebind("SELECT status FROM picks WHERE id = ?"), id); err != nil {
				return notFound(err, "pick")
			}
			return fmt.Errorf("status is %s, not %s: %w", current, from, store.ErrConflict)
		}
		out, err = getPick(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Pick{}, fmt.Errorf("sqlstore: update pick %d: %w", id, err)
	}
	return out, nil
}

// AddPick adds a pick to a completed run, freezes its transcript and
// counts it in the run's Picks, which thus always equals the number of
// the run's stored picks.
func (s *Store) AddPick(ctx context.Context, p store.Pick) (store.Pick, error) {
	status, err := pickStatus(&p)
	if err != nil {
		return store.Pick{}, fmt.Errorf("sqlstore: add pick: %w", err)
	}
	var out store.Pick
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now().UnixMilli()
		// Counting first locks the run row on PostgreSQL, as CompleteRun's
		// claim does.
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE sampling_runs SET picks = picks + 1 WHERE id = ? AND completed_at IS NOT NULL"), p.RunID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := getRun(ctx, tx, p.RunID); err != nil {
				return notFound(err, fmt.Sprintf("run %d", p.RunID))
			}
			return fmt.Errorf("run %d is not complete: %w", p.RunID, store.ErrConflict)
		}
		ts, err := freezeTranscripts(ctx, tx, []string{p.ExternalID})
		if err != nil {
			return err
		}
		t := ts[p.ExternalID]
		var id int64
		err = tx.GetContext(ctx, &id, tx.Rebind("INSERT INTO picks ("+pickInsertColumns+") VALUES "+pickInsertRow+" RETURNING id"),
			appendPickArgs(nil, p.RunID, &p, t, status, now)...)
		if err != nil {
			return pickWriteError(err)
		}
		out, err = getPick(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Pick{}, fmt.Errorf("sqlstore: add pick of %q for %q: %w", p.ExternalID, p.AgentID, err)
	}
	return out, nil
}

const pickedInWeekSQL = `SELECT t.external_id, p.agent_id FROM picks p
	JOIN transcripts t ON t.id = p.transcript_id
	WHERE p.ended_at >= ? AND p.ended_at < ?`

// PickedInWeek returns the (external id, agent id) pairs picked for
// transcripts that ended in [from, to), found by the picks' own copy of
// ended_at: a range of picks_ended, not a probe per transcript of the week.
func (s *Store) PickedInWeek(ctx context.Context, from, to time.Time) (map[[2]string]bool, error) {
	rows, err := s.r.QueryxContext(ctx, s.r.Rebind(pickedInWeekSQL), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: picked in week: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := make(map[[2]string]bool)
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, fmt.Errorf("sqlstore: picked in week: %w", err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: picked in week: %w", err)
	}
	return out, nil
}

// ---- ScanWeek

// sampleFields are what ScanWeek reads of a transcript, in record order:
// the strings first, then the integers parseSampleRecord expects.
var sampleFields = []string{
	"external_id", "agent_id", "coalesce(secondary_agents, '')", "channel", "customer_tier", "coalesce(tags, '')",
	"coalesce(csat, 0)", "transfer_count", "handle_ms", "ended_at",
	"message_count", "agent_message_count", "customer_message_count",
}

const (
	recExternalID = iota
	recAgentID
	recSecondary
	recChannel
	recTier
	recTags
	recCSAT
	recTransfers
	recHandleMS
	recEndedAt
	recMessages
	recAgentMessages
	recCustomerMessages
	recFields
)

// recordSep separates the fields of a sample record. Validated ids have
// no control characters and JSON text escapes them, so it never occurs in
// a field; a record with the wrong number of fields is an error.
const recordSep = '\x1f'

// sampleRecordSQL is the SQLite expression that joins sampleFields of t
// into one string, separated by char(31). It must be the expression of
// the transcripts_sampling index, token for token, so that SQLite reads
// the stored value instead of computing it from the table.
func sampleRecordSQL() string {
	fields := make([]string, len(sampleFields))
	for i, f := range sampleFields {
		fields[i] = sampleColumn(f)
	}
	return strings.Join(fields, " || char(31) || ")
}

// sampleColumn qualifies a sampleFields entry with the alias t.
func sampleColumn(f string) string {
	if rest, ok := strings.CutPrefix(f, "coalesce("); ok {
		return "coalesce(t." + rest
	}
	return "t." + f
}

// scanWeekSQL reads one week by end time. On SQLite it reads one string
// per conversation: per row, database/sql and the driver cost about 0.1 µs
// per column (every sqlite3_column_* call takes the connection's mutex),
// which over a dozen columns was most of the scan, and fetching them from
// the table meant reading every page of the week's rows. The string is
// stored in the transcripts_sampling index, so the scan reads one range of
// one index; INDEXED BY makes a missing index an error rather than a
// silent table scan. PostgreSQL returns the columns as they are: there a
// column costs little, and concatenating on the server cost more than it
// saved (1.4 s against 0.9 s a million rows).
func scanWeekSQL(d dialect) string {
	if d == dialectPostgres {
		fields := make([]string, len(sampleFields))
		for i, f := range sampleFields {
			fields[i] = sampleColumn(f)
		}
		return "SELECT " + strings.Join(fields, ", ") + " FROM transcripts t WHERE t.ended_at >= $1 AND t.ended_at < $2"
	}
	return "SELECT " + sampleRecordSQL() + " FROM transcripts t INDEXED BY transcripts_sampling WHERE t.ended_at >= ? AND t.ended_at < ?"
}

// ScanWeek streams the transcripts that ended in [from, to) to fn, one row
// in memory at a time. The strings of a row share memory with what the
// driver returned for it (about 150 bytes): a consumer that keeps one
// keeps that, which costs less than copying every field of every row.
func (s *Store) ScanWeek(ctx context.Context, from, to time.Time, fn func(store.SampleRow) error) error {
	rows, err := s.r.QueryxContext(ctx, scanWeekSQL(s.dialect), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlstore: scan week: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var (
		f    [recFields]string
		n    [recFields]int64
		rec  string
		vals [recFields]any
		dest [recFields]any
		// The AgentIDs of single-author rows, most of them, are carved
		// from one block, each capped so that an append by fn copies.
		block []string
	)
	for i := range dest {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if s.dialect == dialectPostgres {
			// Into *any: the driver's values are handed over without
			// database/sql's conversions.
			if err := rows.Scan(dest[:]...); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
			if err := fromColumns(&vals, &f, &n); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
		} else {
			// A string into *string is handed over, not copied.
			if err := rows.Scan(&rec); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
			if err := splitRecord(rec, &f, &n); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
		}
		r, secondary, err := sampleRow(&f, &n)
		if err != nil {
			return fmt.Errorf("sqlstore: scan week: %w", err)
		}
		owner := f[recAgentID]
		if secondary == nil {
			if len(block) == 0 {
				block = make([]string, 1024)
			}
			r.AgentIDs, block = block[0:1:1], block[1:]
			r.AgentIDs[0] = owner
		} else {
			r.AgentIDs = make([]string, 0, 1+len(secondary))
			r.AgentIDs = append(r.AgentIDs, owner)
			for _, a := range secondary {
				if a != owner {
					r.AgentIDs = append(r.AgentIDs, a)
				}
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: scan week: %w", err)
	}
	return nil
}

// splitRecord splits a SQLite sample record into its string fields f and
// integer fields n.
func splitRecord(rec string, f *[recFields]string, n *[recFields]int64) error {
	rest := rec
	for i := range recFields - 1 {
		k := strings.IndexByte(rest, recordSep)
		if k < 0 {
			return fmt.Errorf("sample record %q: %d fields, want %d", rec, i+1, recFields)
		}
		f[i], rest = rest[:k], rest[k+1:]
	}
	if strings.IndexByte(rest, recordSep) >= 0 {
		return fmt.Errorf("sample record %q: more than %d fields", rec, recFields)
	}
	f[recFields-1] = rest
	for i := recCSAT; i < recFields; i++ {
		v, ok := parseInt(f[i])
		if !ok {
			return fmt.Errorf("sample record %q: field %d is not an integer", rec, i+1)
		}
		n[i] = v
	}
	return nil
}

// fromColumns sorts PostgreSQL's column values into f and n.
func fromColumns(vals *[recFields]any, f *[recFields]string, n *[recFields]int64) error {
	for i, v := range vals {
		switch x := v.(type) {
		case string:
			f[i] = x
		case []byte:
			f[i] = string(x)
		case int64:
			n[i] = x
		default:
			return fmt.Errorf("sample column %s: unexpected %T", sampleFields[i], v)
		}
	}
	return nil
}

// sampleRow makes a row of the fields of a record, without AgentIDs, and
// returns the secondary authors (nil when none).
func sampleRow(f *[recFields]string, n *[recFields]int64) (r store.SampleRow, secondary []string, err error) {
	r = store.SampleRow{
		ExternalID:        f[recExternalID],
		Channel:           f[recChannel],
		CustomerTier:      f[recTier],
		CSAT:              int(n[recCSAT]),
		TransferCount:     int(n[recTransfers]),
		HandleTime:        time.Duration(n[recHandleMS]) * time.Millisecond,
		EndedAt:           fromMillis(n[recEndedAt]),
		MessageCount:      int(n[recMessages]),
		AgentMessageCount: int(n[recAgentMessages]),
		CustomerMessages:  int(n[recCustomerMessages]),
	}
	if f[recTags] != "" {
		if r.Tags, err = parseStringArray(f[recTags]); err != nil {
			return r, nil, fmt.Errorf("transcript %q: tags: %w", r.ExternalID, err)
		}
	}
	if f[recSecondary] != "" {
		if secondary, err = parseStringArray(f[recSecondary]); err != nil {
			return r, nil, fmt.Errorf("transcript %q: secondary agents: %w", r.ExternalID, err)
		}
	}
	return r, secondary, nil
}

// parseInt parses a decimal integer as SQL renders it.
func parseInt(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseStringArray decodes a JSON array of strings. Tags and author lists
// are short strings without escapes, for which substrings of s are
// returned without allocating each; anything else goes to encoding/json.
func parseStringArray(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' || strings.IndexByte(s, '\\') >= 0 {
		return decodeStringArray(s)
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return nil, nil
	}
	out := make([]string, 0, strings.Count(body, ",")+1)
	for {
		if body == "" || body[0] != '"' {
			return decodeStringArray(s)
		}
		end := strings.IndexByte(body[1:], '"')
		if end < 0 {
			return decodeStringArray(s)
		}
		out = append(out, body[1:1+end])
		body = body[end+2:]
		switch {
		case body == "":
			return out, nil
		case strings.HasPrefix(body, ", "): // PostgreSQL's json_agg spacing
			body = body[2:]
		case strings.HasPrefix(body, ","):
			body = body[1:]
		default:
			return decodeStringArray(s)
		}
	}
}

func decodeStringArray(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	return out, nil
}
