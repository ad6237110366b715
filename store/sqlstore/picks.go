package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"qa-sampling/store"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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

// recentInspectorsOfAgentsSQL has each (agent, inspector) pair's newest
// pick: RecentInspectorsOf's grouping for many agents, ordered in Go.
const recentInspectorsOfAgentsSQL = `SELECT agent_id, inspector_id, MAX(id) AS newest FROM picks
	WHERE agent_id IN (?) AND inspector_id IS NOT NULL
	GROUP BY agent_id, inspector_id`

// RecentInspectorsOfAgents returns RecentInspectorsOf of each agent, in
// a query per chunkRows agents rather than one per agent: a run's 2,000
// agents took 2,000 round trips.
func (s *Store) RecentInspectorsOfAgents(ctx context.Context, agentIDs []string, limit int) (map[string][]string, error) {
	out := map[string][]string{}
	if limit <= 0 || len(agentIDs) == 0 {
		return out, nil
	}
	ids := slices.Clone(agentIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	type pair struct {
		Agent     string `db:"agent_id"`
		Inspector string `db:"inspector_id"`
		Newest    int64  `db:"newest"`
	}
	var pairs []pair
	for _, c := range chunks(len(ids), chunkRows) {
		q, args, err := sqlx.In(recentInspectorsOfAgentsSQL, ids[c[0]:c[1]])
		if err != nil {
			return nil, fmt.Errorf("sqlstore: recent inspectors: %w", err)
		}
		var part []pair
		if err := s.r.SelectContext(ctx, &part, s.r.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("sqlstore: recent inspectors: %w", err)
		}
		pairs = append(pairs, part...)
	}
	// By agent, then newest pick first: ids are unique, so the order is
	// RecentInspectorsOf's.
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.Agent, b.Agent); c != 0 {
			return c
		}
		return cmp.Compare(b.Newest, a.Newest)
	})
	for _, p := range pairs {
		if len(out[p.Agent]) < limit {
			out[p.Agent] = append(out[p.Agent], p.Inspector)
		}
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
		ts, err := pickedTranscripts(ctx, tx, s.dialect, []string{p.ExternalID})
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

const workloadSQL = `SELECT COALESCE(inspector_id, '') AS inspector_id, status, COUNT(*) AS n
	FROM picks WHERE status IN ('assigned', 'pool', 'disputed') GROUP BY inspector_id, status`

// Workload counts the open picks by holder and status, reading only the
// open rows (picks_open), so the count costs the backlog, not the history.
func (s *Store) Workload(ctx context.Context) (map[string]store.OpenItems, int, error) {
	var rows []struct {
		InspectorID string `db:"inspector_id"`
		Status      string `db:"status"`
		N           int64  `db:"n"`
	}
	err := s.readSelect(ctx, &rows, workloadSQL)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: workload: %w", err)
	}
	out := map[string]store.OpenItems{}
	pool := 0
	for _, r := range rows {
		if store.PickStatus(r.Status) == store.PickPool {
			pool += int(r.N)
			continue
		}
		items := out[r.InspectorID]
		if store.PickStatus(r.Status) == store.PickDisputed {
			items.Disputed += int(r.N)
		} else {
			items.Assigned += int(r.N)
		}
		out[r.InspectorID] = items
	}
	return out, pool, nil
}

// reassignChunk is how many moves one statement makes: 3 parameters
// each, well under SQLite's 32,766.
const reassignChunk = 500

// ReassignPicks moves open picks, each by compare-and-set on its holder,
// all in one transaction, a chunk of moves per statement and their audit
// events in multi-row INSERTs: a 3,618-item queue (issue 9) moved with an
// UPDATE, an event and a read-back each took 0.9–1.6 s on SQLite and
// 1.6–3.0 s on PostgreSQL, this way 0.3–0.4 s and 0.75–1.0 s
// (BenchmarkReassignAll, side by side on a loaded 2-core machine).
func (s *Store) ReassignPicks(ctx context.Context, r store.Reassignment) ([]store.Pick, error) {
	var out []store.Pick
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		out = make([]store.Pick, 0, len(r.Moves)) // a retry starts afresh
		done := make([]store.PickMove, 0, len(r.Moves))
		now := s.now().UnixMilli()
		for moves := range slices.Chunk(r.Moves, reassignChunk) {
			moved, err := movePicks(ctx, tx, moves, now)
			if err != nil {
				return err
			}
			for _, m := range moves { // audited and returned in the order asked
				if p, ok := moved[m.PickID]; ok { // else it changed meanwhile
					done = append(done, m)
					out = append(out, p)
				}
			}
		}
		ids := make([]int64, len(done))
		for i, m := range done {
			ids[i] = m.PickID
		}
		return s.auditEach(ctx, tx, r.Actor, "pick.reassign", "pick", ids, func(i int) any { return reassignDetail(done[i], r) })
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reassign picks: %w", err)
	}
	return out, nil
}

// movePicks makes the moves whose pick is still held as From says, in one
// UPDATE joined to the moves as a VALUES list (column1 id, column2 from,
// column3 to; "" is the pool), and returns the moved picks by id.
func movePicks(ctx context.Context, tx *sqlx.Tx, moves []store.PickMove, now int64) (map[int64]store.Pick, error) {
	args := make([]any, 0, 1+3*len(moves))
	args = append(args, now)
	for _, m := range moves {
		args = append(args, m.PickID, m.From, m.To)
	}
	var ids []int64
	err := tx.SelectContext(ctx, &ids, tx.Rebind(`UPDATE picks SET inspector_id = NULLIF(v.column3, ''),
		status = CASE WHEN v.column3 = '' THEN 'pool' ELSE 'assigned' END, updated_at = ?
		FROM (VALUES `+valuesList(len(moves), "(CAST(? AS BIGINT), ?, ?)")+`) AS v
		WHERE picks.id = v.column1 AND COALESCE(picks.inspector_id, '') = v.column2
		AND picks.status = CASE WHEN v.column2 = '' THEN 'pool' ELSE 'assigned' END
		RETURNING picks.id`), args...)
	if err != nil {
		return nil, pickWriteError(err)
	}
	out := make(map[int64]store.Pick, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q, inArgs, err := sqlx.In(pickSelect+" WHERE p.id IN (?)", ids)
	if err != nil {
		return nil, err
	}
	var rows []pickRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), inArgs...); err != nil {
		return nil, err
	}
	for i := range rows {
		out[rows[i].ID] = rows[i].pick()
	}
	return out, nil
}

// heldStatus is the status of an open pick held by inspector ("" for the
// pool).
func heldStatus(inspector string) store.PickStatus {
	if inspector == "" {
		return store.PickPool
	}
	return store.PickAssigned
}

// reassignEvent is the detail of a pick.reassign event (From and To name
// the inspectors, absent for the pool) and of a dispute.reassign one (no
// Status: a re-scoring stays disputed).
type reassignEvent struct {
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	Bulk   bool   `json:"bulk,omitempty"`
}

func reassignDetail(m store.PickMove, r store.Reassignment) reassignEvent {
	return reassignEvent{From: m.From, To: m.To, Status: string(heldStatus(m.To)), Reason: r.Reason, Bulk: r.Bulk}
}
