package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

// chunkRows bounds the rows of one multi-row statement or IN list: far
// below both SQLite's 32766 and PostgreSQL's 65535 bind parameters even
// with a dozen parameters a row, and small enough to plan quickly.
const chunkRows = 500

// chunks splits n items into [lo, hi) ranges of at most size.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

// valuesList repeats row, a parenthesised tuple of placeholders, n times.
func valuesList(n int, row string) string {
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

type agentRow struct {
	AgentID      string `db:"agent_id"`
	Name         string `db:"name"`
	TeamID       string `db:"team_id"`
	SupervisorID string `db:"supervisor_id"`
	HiredOn      string `db:"hired_on"`
	Active       bool   `db:"active"`
	UpdatedAt    int64  `db:"updated_at"`
}

// UpsertAgents inserts new agents and rewrites changed ones; an agent whose
// fields all match is left alone (its updated_at too).
func (s *Store) UpsertAgents(ctx context.Context, agents []store.Agent) ([]store.Outcome, error) {
	out := make([]store.Outcome, len(agents))
	if len(agents) == 0 {
		return out, nil
	}
	// Rows are locked in agent_id order so that two concurrent calls on
	// PostgreSQL cannot deadlock on each other's rows.
	order := make([]int, len(agents))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(agents[a].AgentID, agents[b].AgentID) })

	now := s.now().UnixMilli()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Insert-or-nothing, then update-if-different: each statement says
		// by its row count what happened, even under concurrent writers.
		ins, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO agents
			(agent_id, name, team_id, supervisor_id, hired_on, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (agent_id) DO NOTHING`))
		if err != nil {
			return err
		}
		defer func() { _ = ins.Close() }()
		upd, err := tx.PreparexContext(ctx, tx.Rebind(`UPDATE agents
			SET name = ?, team_id = ?, supervisor_id = ?, hired_on = ?, active = ?, updated_at = ?
			WHERE agent_id = ? AND (name, team_id, supervisor_id, hired_on, active) <> (?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer func() { _ = upd.Close() }()
		// Feedback records belong to the agent's current supervisor
		// (README, "Who sees what"): a move takes the agent's records
		// along, so that listing one supervisor's records stays one range
		// of feedback_supervisor. FinalizeReview reads the agent row
		// locked (PostgreSQL), so a record written meanwhile is either
		// already there to be moved or written for the new supervisor.
		follow, err := tx.PreparexContext(ctx, tx.Rebind(`UPDATE feedback SET supervisor_id = ?
			WHERE agent_id = ? AND supervisor_id <> ?`))
		if err != nil {
			return err
		}
		defer func() { _ = follow.Close() }()
		for _, i := range order {
			a := &agents[i]
			res, err := ins.ExecContext(ctx, a.AgentID, a.Name, a.TeamID, a.SupervisorID, a.HiredOn, a.Active, now, now)
			if err != nil {
				return fmt.Errorf("agent %q: %w", a.AgentID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				out[i] = store.Created
				continue
			}
			res, err = upd.ExecContext(ctx, a.Name, a.TeamID, a.SupervisorID, a.HiredOn, a.Active, now,
				a.AgentID, a.Name, a.TeamID, a.SupervisorID, a.HiredOn, a.Active)
			if err != nil {
				return fmt.Errorf("agent %q: %w", a.AgentID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				out[i] = store.Updated
				if _, err := follow.ExecContext(ctx, a.SupervisorID, a.AgentID, a.SupervisorID); err != nil {
					return fmt.Errorf("agent %q: feedback to its supervisor: %w", a.AgentID, err)
				}
			} else {
				out[i] = store.Unchanged
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: upsert agents: %w", err)
	}
	return out, nil
}

// EnsureAgents creates a minimal active agent for each unknown id.
func (s *Store) EnsureAgents(ctx context.Context, agentIDs []string) error {
	ids := slices.Clone(agentIDs)
	slices.Sort(ids) // lock order, as in UpsertAgents
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	now := s.now().UnixMilli()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, c := range chunks(len(ids), chunkRows) {
			part := ids[c[0]:c[1]]
			q := tx.Rebind("INSERT INTO agents (agent_id, active, created_at, updated_at) VALUES " +
				valuesList(len(part), "(?, TRUE, ?, ?)") + " ON CONFLICT (agent_id) DO NOTHING")
			args := make([]any, 0, 3*len(part))
			for _, id := range part {
				args = append(args, id, now, now)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: ensure agents: %w", err)
	}
	return nil
}

// ExistingAgents returns which of agentIDs are known.
func (s *Store) ExistingAgents(ctx context.Context, agentIDs []string) (map[string]bool, error) {
	found := make(map[string]bool, len(agentIDs))
	for _, c := range chunks(len(agentIDs), chunkRows) {
		q, args, err := sqlx.In("SELECT agent_id FROM agents WHERE agent_id IN (?)", agentIDs[c[0]:c[1]])
		if err != nil {
			return nil, fmt.Errorf("sqlstore: existing agents: %w", err)
		}
		var ids []string
		if err := s.r.SelectContext(ctx, &ids, s.r.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("sqlstore: existing agents: %w", err)
		}
		for _, id := range ids {
			found[id] = true
		}
	}
	return found, nil
}

// GetAgent returns one agent or store.ErrNotFound.
const agentSelect = `SELECT agent_id, name, team_id, supervisor_id, hired_on, active, updated_at FROM agents`

func (r *agentRow) agent() store.Agent {
	return store.Agent{
		AgentID:      r.AgentID,
		Name:         r.Name,
		TeamID:       r.TeamID,
		SupervisorID: r.SupervisorID,
		HiredOn:      r.HiredOn,
		Active:       r.Active,
		UpdatedAt:    fromMillis(r.UpdatedAt),
	}
}

func (s *Store) GetAgent(ctx context.Context, agentID string) (store.Agent, error) {
	var r agentRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind(agentSelect+" WHERE agent_id = ?"), agentID); err != nil {
		return store.Agent{}, notFound(err, fmt.Sprintf("agent %q", agentID))
	}
	return r.agent(), nil
}

// ListAgents returns the whole directory, by id.
func (s *Store) ListAgents(ctx context.Context) ([]store.Agent, error) {
	var rows []agentRow
	if err := s.r.SelectContext(ctx, &rows, agentSelect+" ORDER BY agent_id"); err != nil {
		return nil, fmt.Errorf("sqlstore: list agents: %w", err)
	}
	out := make([]store.Agent, len(rows))
	for i := range rows {
		out[i] = rows[i].agent()
	}
	return out, nil
}

// fromMillis is the inverse of time.UnixMilli, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
