package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

// countCheckFlagsSQL groups a range's conversations by author, check set
// version and flag combination in the database, so a week of a million
// conversations returns a few thousand rows: owners who wrote in them,
// then the secondary authors of transferred ones, then those retention
// deleted (kept_check_counts, counted the same way when deleted).
// Conversations without an agent message are no agent's work and are left
// out, as sampling leaves them. Never checked is version 0.
const countCheckFlagsSQL = `
SELECT agent_id, coalesce(check_version, 0) AS version, check_flags, count(*) AS chats
FROM transcripts
WHERE ended_at >= ? AND ended_at < ? AND owner_wrote AND agent_message_count > 0
GROUP BY agent_id, check_version, check_flags
UNION ALL
SELECT a.agent_id, coalesce(t.check_version, 0) AS version, t.check_flags, count(*) AS chats
FROM transcripts t JOIN transcript_agents a ON a.transcript_id = t.id
WHERE t.ended_at >= ? AND t.ended_at < ? AND a.agent_id <> t.agent_id AND t.agent_message_count > 0
GROUP BY a.agent_id, t.check_version, t.check_flags
UNION ALL
SELECT agent_id, check_version AS version, check_flags, CAST(sum(chats) AS BIGINT) AS chats
FROM kept_check_counts
WHERE bucket_ms >= ? AND bucket_ms < ?
GROUP BY agent_id, check_version, check_flags`

// CountCheckFlags implements store.CheckStatsStore.
func (s *Store) CountCheckFlags(ctx context.Context, from, to time.Time) ([]store.CheckFlagCount, error) {
	f, t := from.UnixMilli(), to.UnixMilli()
	rows, err := s.r.QueryContext(ctx, s.r.Rebind(countCheckFlagsSQL), f, t, f, t, f, t)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count check flags: %w", err)
	}
	defer func() { _ = rows.Close() }()
	byKey := make(map[store.CheckFlagCount]int)
	var out []store.CheckFlagCount
	for rows.Next() {
		var c store.CheckFlagCount
		var flags, chats int64
		if err := rows.Scan(&c.AgentID, &c.Version, &flags, &chats); err != nil {
			return nil, fmt.Errorf("sqlstore: count check flags: %w", err)
		}
		c.Flags = uint64(flags)
		// An agent who owns some conversations and took over others has
		// a row in each half of the union, and one more for the deleted.
		if i, ok := byKey[c]; ok {
			out[i].Chats += chats
			continue
		}
		byKey[c] = len(out)
		c.Chats = chats
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: count check flags: %w", err)
	}
	return out, nil
}

// checkBucketMS is the width of kept_check_counts' time buckets: a
// quarter hour, of which every zone's offset from UTC is a whole number,
// so that a week's bounds in any zone fall between buckets.
const checkBucketMS = int64(15 * time.Minute / time.Millisecond)

// deletedChat is what retention reads of a transcript it deletes to keep
// its check counts.
type deletedChat struct {
	ExternalID        string         `db:"external_id"`
	AgentID           string         `db:"agent_id"`
	EndedAt           int64          `db:"ended_at"`
	CheckVersion      sql.NullInt64  `db:"check_version"`
	CheckFlags        int64          `db:"check_flags"`
	OwnerWrote        bool           `db:"owner_wrote"`
	AgentMessageCount int64          `db:"agent_message_count"`
	SecondaryAgents   sql.NullString `db:"secondary_agents"`
}

// deletedChatColumns are deletedChat's columns, for a DELETE's RETURNING.
const deletedChatColumns = `external_id, agent_id, ended_at, check_version, check_flags, owner_wrote,
	agent_message_count, secondary_agents`

// keepCheckCounts adds the deleted transcripts to kept_check_counts as
// countCheckFlagsSQL counted them while stored: for the owner if the
// owner wrote, for each secondary author, none without an agent message.
// It runs in the deleting transaction, so the counts move from one table
// to the other at once and a report never sees a chat twice or not at
// all.
func keepCheckCounts(ctx context.Context, tx *sqlx.Tx, deleted []deletedChat) error {
	type key struct {
		bucket  int64
		agent   string
		version int64
		flags   int64
	}
	counts := make(map[key]int64)
	for _, d := range deleted {
		if d.AgentMessageCount == 0 {
			continue
		}
		k := key{bucket: d.EndedAt - ((d.EndedAt%checkBucketMS)+checkBucketMS)%checkBucketMS, version: d.CheckVersion.Int64, flags: d.CheckFlags}
		if d.OwnerWrote {
			k.agent = d.AgentID
			counts[k]++
		}
		if d.SecondaryAgents.Valid {
			var others []string
			if err := json.Unmarshal([]byte(d.SecondaryAgents.String), &others); err != nil {
				return fmt.Errorf("transcript %q secondary_agents: %w", d.ExternalID, err)
			}
			for _, a := range others {
				if a != d.AgentID {
					k.agent = a
					counts[k]++
				}
			}
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	// One order for every batch, so that two never lock rows crosswise.
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), strings.Compare(a.agent, b.agent),
			cmp.Compare(a.version, b.version), cmp.Compare(a.flags, b.flags))
	})
	for _, c := range chunks(len(keys), chunkRows) {
		part := keys[c[0]:c[1]]
		args := make([]any, 0, 5*len(part))
		for _, k := range part {
			args = append(args, k.bucket, k.agent, k.version, k.flags, counts[k])
		}
		q := tx.Rebind(`INSERT INTO kept_check_counts (bucket_ms, agent_id, check_version, check_flags, chats) VALUES ` +
			valuesList(len(part), "(?, ?, ?, ?, ?)") + ` ON CONFLICT (bucket_ms, agent_id, check_version, check_flags)
			DO UPDATE SET chats = kept_check_counts.chats + excluded.chats`)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// ReviewedChecks implements store.CheckStatsStore.
func (s *Store) ReviewedChecks(ctx context.Context, fromWeek, toWeek string) ([]store.ReviewedChecks, error) {
	rows, err := s.r.QueryContext(ctx, s.r.Rebind(`
		SELECT r.id, r.week, r.agent_id, r.external_id, r.ratings, t.check_version, t.check_flags, r.finalized_at
		FROM reviews r JOIN transcripts t ON t.external_id = r.external_id
		WHERE r.status = 'final' AND r.week >= ? AND r.week <= ?
		ORDER BY r.id`), fromWeek, toWeek)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reviewed checks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []store.ReviewedChecks
	for rows.Next() {
		var r store.ReviewedChecks
		var ratings string
		var version sql.NullInt64
		var flags int64
		var finalized sql.NullInt64
		if err := rows.Scan(&r.ReviewID, &r.Week, &r.AgentID, &r.ExternalID, &ratings, &version, &flags, &finalized); err != nil {
			return nil, fmt.Errorf("sqlstore: reviewed checks: %w", err)
		}
		if r.Ratings, err = decodeRatings(ratings); err != nil {
			return nil, fmt.Errorf("sqlstore: review %d ratings: %w", r.ReviewID, err)
		}
		r.CheckVersion, r.CheckFlags = version.Int64, uint64(flags)
		if finalized.Valid {
			r.FinalizedAt = fromMillis(finalized.Int64)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reviewed checks: %w", err)
	}
	return out, nil
}

const checkRerunColumns = `id, week, from_ms, to_ms, check_version, status, cursor_id, done, total, changed, error,
	created_by, created_at, updated_at, finished_at, owner, lease_until`

type checkRerunRow struct {
	ID           int64         `db:"id"`
	Week         string        `db:"week"`
	FromMS       int64         `db:"from_ms"`
	ToMS         int64         `db:"to_ms"`
	CheckVersion int64         `db:"check_version"`
	Status       string        `db:"status"`
	Cursor       int64         `db:"cursor_id"`
	Done         int64         `db:"done"`
	Total        int64         `db:"total"`
	Changed      int64         `db:"changed"`
	Error        string        `db:"error"`
	CreatedBy    string        `db:"created_by"`
	CreatedAt    int64         `db:"created_at"`
	UpdatedAt    int64         `db:"updated_at"`
	FinishedAt   sql.NullInt64 `db:"finished_at"`
	Owner        string        `db:"owner"`
	LeaseUntil   int64         `db:"lease_until"`
}

func (r *checkRerunRow) rerun() store.CheckRerun {
	out := store.CheckRerun{
		ID: r.ID, Week: r.Week, From: fromMillis(r.FromMS), To: fromMillis(r.ToMS), CheckVersion: r.CheckVersion,
		Status: store.CheckRerunStatus(r.Status), Cursor: r.Cursor, Done: r.Done, Total: r.Total, Changed: r.Changed,
		Error: r.Error, CreatedBy: r.CreatedBy, CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt),
		Owner: r.Owner,
	}
	if r.FinishedAt.Valid {
		out.FinishedAt = fromMillis(r.FinishedAt.Int64)
	}
	if r.LeaseUntil != 0 {
		out.LeaseUntil = fromMillis(r.LeaseUntil)
	}
	return out
}

// leaseMillis stores a lease end; the zero time (no lease) is 0.
func leaseMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// getCheckRerun reads job id in tx, locking its row on PostgreSQL (a
// SQLite write transaction holds the whole file already).
func (s *Store) getCheckRerun(ctx context.Context, tx *sqlx.Tx, id int64) (checkRerunRow, error) {
	q := "SELECT " + checkRerunColumns + " FROM check_reruns WHERE id = ?"
	if s.dialect == dialectPostgres {
		q += " FOR UPDATE"
	}
	var row checkRerunRow
	if err := tx.GetContext(ctx, &row, tx.Rebind(q), id); err != nil {
		return row, notFound(err, fmt.Sprintf("check rerun %d", id))
	}
	return row, nil
}

// rerunDetail is what a checks.rerun event says.
type rerunDetail struct {
	Week         string `json:"week"`
	CheckVersion int64  `json:"check_version"`
	Total        int64  `json:"total,omitempty"`
	Done         int64  `json:"done,omitempty"`
	Changed      int64  `json:"changed,omitempty"`
	Error        string `json:"error,omitempty"`
	// Owner and From name the replicas of a takeover.
	Owner string `json:"owner,omitempty"`
	From  string `json:"from,omitempty"`
}

// CreateCheckRerun implements store.CheckStatsStore.
func (s *Store) CreateCheckRerun(ctx context.Context, r store.CheckRerun) (store.CheckRerun, error) {
	var out store.CheckRerun
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var total int64
		if err := tx.GetContext(ctx, &total, tx.Rebind("SELECT count(*) FROM transcripts WHERE ended_at >= ? AND ended_at < ?"),
			r.From.UnixMilli(), r.To.UnixMilli()); err != nil {
			return err
		}
		now := s.now().UnixMilli()
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO check_reruns (week, from_ms, to_ms, check_version, status,
			total, created_by, created_at, updated_at, owner, lease_until) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?) RETURNING id`),
			r.Week, r.From.UnixMilli(), r.To.UnixMilli(), r.CheckVersion, total, r.CreatedBy, now, now, r.Owner, leaseMillis(r.LeaseUntil)); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("a re-run of week %s is running: %w", r.Week, store.ErrConflict)
			}
			return err
		}
		var row checkRerunRow
		if err := tx.GetContext(ctx, &row, tx.Rebind("SELECT "+checkRerunColumns+" FROM check_reruns WHERE id = ?"), id); err != nil {
			return err
		}
		out = row.rerun()
		return s.audit(ctx, tx, r.CreatedBy, "checks.rerun", "check_rerun", id,
			rerunDetail{Week: r.Week, CheckVersion: r.CheckVersion, Total: total})
	})
	if err != nil {
		return store.CheckRerun{}, fmt.Errorf("sqlstore: create check rerun: %w", err)
	}
	return out, nil
}

// GetCheckRerun implements store.CheckStatsStore.
func (s *Store) GetCheckRerun(ctx context.Context, id int64) (store.CheckRerun, error) {
	var row checkRerunRow
	if err := s.r.GetContext(ctx, &row, s.r.Rebind("SELECT "+checkRerunColumns+" FROM check_reruns WHERE id = ?"), id); err != nil {
		return store.CheckRerun{}, notFound(err, fmt.Sprintf("check rerun %d", id))
	}
	return row.rerun(), nil
}

// ListCheckReruns implements store.CheckStatsStore.
func (s *Store) ListCheckReruns(ctx context.Context, running bool, limit int) ([]store.CheckRerun, error) {
	q := "SELECT " + checkRerunColumns + " FROM check_reruns"
	if running {
		q += " WHERE status = 'running'"
	}
	var rows []checkRerunRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q+" ORDER BY id DESC LIMIT ?"), limit); err != nil {
		return nil, fmt.Errorf("sqlstore: list check reruns: %w", err)
	}
	out := make([]store.CheckRerun, len(rows))
	for i := range rows {
		out[i] = rows[i].rerun()
	}
	return out, nil
}

// RecheckIDs implements store.CheckStatsStore. "+id" keeps SQLite from
// walking the primary key from afterID over every later week: the end
// time index bounds the range, and its entries carry the ids.
func (s *Store) RecheckIDs(ctx context.Context, from, to time.Time, afterID int64) ([]int64, error) {
	var ids []int64
	if err := s.r.SelectContext(ctx, &ids, s.r.Rebind(`SELECT id FROM transcripts
		WHERE ended_at >= ? AND ended_at < ? AND +id > ? ORDER BY id`), from.UnixMilli(), to.UnixMilli(), afterID); err != nil {
		return nil, fmt.Errorf("sqlstore: recheck ids: %w", err)
	}
	return ids, nil
}

// RecheckTargets implements store.CheckStatsStore.
func (s *Store) RecheckTargets(ctx context.Context, from, to time.Time, lo, hi int64) ([]store.RecheckTarget, error) {
	var rows []transcriptRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind("SELECT "+transcriptColumns+` FROM transcripts
		WHERE id >= ? AND id <= ? AND ended_at >= ? AND ended_at < ? AND purged_at IS NULL ORDER BY id`), lo, hi, from.UnixMilli(), to.UnixMilli()); err != nil {
		return nil, fmt.Errorf("sqlstore: recheck targets: %w", err)
	}
	out := make([]store.RecheckTarget, len(rows))
	for i := range rows {
		msgs, attrs, err := s.decode(ctx, rows[i].Body)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: transcript %q: %w", rows[i].ExternalID, err)
		}
		st, err := rows[i].stored(msgs, attrs, nil)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: transcript %q: %w", rows[i].ExternalID, err)
		}
		out[i] = store.RecheckTarget{ID: rows[i].ID, Transcript: st.Transcript, Checks: st.Checks, Revision: rows[i].Revision}
	}
	return out, nil
}

// ClaimCheckRerun implements store.CheckStatsStore.
func (s *Store) ClaimCheckRerun(ctx context.Context, id int64, lease store.RerunLease) (store.CheckRerun, error) {
	if lease.Owner == "" {
		return store.CheckRerun{}, errors.New("sqlstore: claim check rerun: no owner")
	}
	var out store.CheckRerun
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		row, err := s.getCheckRerun(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status != string(store.CheckRerunRunning) {
			return fmt.Errorf("check rerun %d is %s: %w", id, row.Status, store.ErrConflict)
		}
		if row.Owner != lease.Owner && row.LeaseUntil > lease.At.UnixMilli() {
			return fmt.Errorf("check rerun %d: %s holds it until %s: %w", id, row.Owner,
				fromMillis(row.LeaseUntil).UTC().Format(time.RFC3339), store.ErrLeaseLost)
		}
		// The row is locked (or the file is): the condition only repeats
		// what was read, as a guard.
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE check_reruns SET owner = ?, lease_until = ?
			WHERE id = ? AND status = 'running' AND owner = ? AND lease_until = ?`),
			lease.Owner, leaseMillis(lease.Until), id, row.Owner, row.LeaseUntil)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return cmp.Or(err, fmt.Errorf("check rerun %d changed while claimed: %w", id, store.ErrLeaseLost))
		}
		if row.Owner != "" && row.Owner != lease.Owner && row.LeaseUntil != 0 {
			// The holder stopped renewing without releasing: it died or
			// hung, and this replica continues after its last commit.
			if err := s.audit(ctx, tx, "qad", "checks.rerun.takeover", "check_rerun", id, rerunDetail{
				Week: row.Week, CheckVersion: row.CheckVersion, Done: row.Done, Changed: row.Changed,
				Owner: lease.Owner, From: row.Owner}); err != nil {
				return err
			}
		}
		row.Owner, row.LeaseUntil = lease.Owner, leaseMillis(lease.Until)
		out = row.rerun()
		return nil
	})
	if err != nil {
		return store.CheckRerun{}, fmt.Errorf("sqlstore: claim check rerun: %w", err)
	}
	return out, nil
}

// ReleaseCheckRerun implements store.CheckStatsStore.
func (s *Store) ReleaseCheckRerun(ctx context.Context, id int64, owner string) error {
	if _, err := s.w.ExecContext(ctx, s.w.Rebind(`UPDATE check_reruns SET lease_until = 0
		WHERE id = ? AND owner = ? AND status = 'running'`), id, owner); err != nil {
		return fmt.Errorf("sqlstore: release check rerun: %w", err)
	}
	return nil
}

// SaveRecheck implements store.CheckStatsStore. The job's row is locked
// and checked first, so that a batch of a replica that lost the job
// writes nothing.
func (s *Store) SaveRecheck(ctx context.Context, id int64, b store.RecheckBatch) (store.CheckRerun, error) {
	if b.Lease.Owner == "" {
		return store.CheckRerun{}, errors.New("sqlstore: save recheck: no owner")
	}
	var out store.CheckRerun
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		row, err := s.getCheckRerun(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status != string(store.CheckRerunRunning) {
			return fmt.Errorf("check rerun %d is %s: %w", id, row.Status, store.ErrConflict)
		}
		if row.Owner != b.Lease.Owner {
			return fmt.Errorf("check rerun %d: taken over by %s: %w", id, cmp.Or(row.Owner, "no one"), store.ErrLeaseLost)
		}
		if row.Cursor != b.After {
			return fmt.Errorf("check rerun %d: cursor at %d, not %d as read: %w", id, row.Cursor, b.After, store.ErrLeaseLost)
		}
		changed, err := s.updateChecks(ctx, tx, b.Results)
		if err != nil {
			return err
		}
		now := s.now().UnixMilli()
		status, finished, lease := row.Status, sql.NullInt64{}, leaseMillis(b.Lease.Until)
		if b.Finish {
			status, finished, lease = string(store.CheckRerunDone), sql.NullInt64{Int64: now, Valid: true}, 0
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE check_reruns SET cursor_id = ?, done = done + ?, changed = changed + ?,
			status = ?, updated_at = ?, finished_at = ?, lease_until = ? WHERE id = ?`),
			max(b.Cursor, row.Cursor), int64(len(b.Results)), changed, status, now, finished, lease, id); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &row, tx.Rebind("SELECT "+checkRerunColumns+" FROM check_reruns WHERE id = ?"), id); err != nil {
			return err
		}
		out = row.rerun()
		if b.Finish {
			return s.audit(ctx, tx, "qad", "checks.rerun.done", "check_rerun", id,
				rerunDetail{Week: out.Week, CheckVersion: out.CheckVersion, Done: out.Done, Changed: out.Changed})
		}
		return nil
	})
	if err != nil {
		if retryable(s.dialect, err) {
			return store.CheckRerun{}, fmt.Errorf("sqlstore: save recheck: %w (%w)", err, store.ErrTransient)
		}
		return store.CheckRerun{}, fmt.Errorf("sqlstore: save recheck: %w", err)
	}
	return out, nil
}

// updateChecks writes results' checks, except on transcripts retention
// emptied meanwhile (their flags were computed from the content and stay
// for the reports, and hits would quote text that is gone) or a push
// changed since they were read (ingest checked the new content; hits of
// the old would point at the wrong messages), and returns how many of the
// rows it wrote had other flags stored: a chat skipped is not a change.
// The rows are read first (locked in id order on PostgreSQL, so that the
// count is what the update does). PostgreSQL takes them in one statement
// from arrays (a round trip per row is its ceiling); SQLite, in process,
// runs one prepared update per row.
func (s *Store) updateChecks(ctx context.Context, tx *sqlx.Tx, results []store.RecheckResult) (int64, error) {
	if len(results) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(results))
	revisions := make([]int64, len(results))
	versions := make([]int64, len(results))
	flags := make([]int64, len(results))
	hits := make([]sql.NullString, len(results))
	for i := range results {
		c := &results[i].Checks
		ids[i], revisions[i], versions[i], flags[i] = results[i].ID, results[i].Revision, c.Version, int64(c.Flags)
		if len(c.Hits) > 0 {
			b, err := json.Marshal(c.Hits)
			if err != nil {
				return 0, err
			}
			hits[i] = sql.NullString{String: string(b), Valid: true}
		}
	}
	changed, err := s.recheckChanges(ctx, tx, ids, revisions, flags)
	if err != nil {
		return 0, err
	}
	if s.dialect == dialectPostgres {
		texts := make([]*string, len(hits))
		for i := range hits {
			if hits[i].Valid {
				texts[i] = &hits[i].String
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE transcripts t SET check_version = u.version, check_flags = u.flags, check_hits = u.hits
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[]) AS u(id, version, flags, hits, revision)
			WHERE t.id = u.id AND t.revision = u.revision AND t.purged_at IS NULL`, ids, versions, flags, texts, revisions)
		return changed, err
	}
	stmt, err := tx.PrepareContext(ctx, "UPDATE transcripts SET check_version = ?, check_flags = ?, check_hits = ? WHERE id = ? AND revision = ? AND purged_at IS NULL")
	if err != nil {
		return 0, err
	}
	defer func() { _ = stmt.Close() }()
	for i := range ids {
		if _, err := stmt.ExecContext(ctx, versions[i], flags[i], hits[i], ids[i], revisions[i]); err != nil {
			return 0, err
		}
	}
	return changed, nil
}

// recheckChanges counts the rows among ids that updateChecks will write
// (still at revisions[i], not emptied) whose stored flags are not
// flags[i]. On PostgreSQL it locks them, in id order, until the
// transaction ends, so that no push moves one on before the update.
func (s *Store) recheckChanges(ctx context.Context, tx *sqlx.Tx, ids, revisions, flags []int64) (int64, error) {
	type stored struct {
		ID       int64 `db:"id"`
		Revision int64 `db:"revision"`
		Flags    int64 `db:"check_flags"`
	}
	var rows []stored
	if s.dialect == dialectPostgres {
		if err := tx.SelectContext(ctx, &rows, `SELECT id, revision, check_flags FROM transcripts
			WHERE id = ANY($1::bigint[]) AND purged_at IS NULL ORDER BY id FOR UPDATE`, ids); err != nil {
			return 0, err
		}
	} else {
		q, args, err := sqlx.In("SELECT id, revision, check_flags FROM transcripts WHERE id IN (?) AND purged_at IS NULL", ids)
		if err != nil {
			return 0, err
		}
		if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
			return 0, err
		}
	}
	current := make(map[int64]stored, len(rows))
	for _, r := range rows {
		current[r.ID] = r
	}
	var changed int64
	for i, id := range ids {
		if r, ok := current[id]; ok && r.Revision == revisions[i] && r.Flags != flags[i] {
			changed++
		}
	}
	return changed, nil
}

// FailCheckRerun implements store.CheckStatsStore.
func (s *Store) FailCheckRerun(ctx context.Context, id int64, owner, reason string) error {
	reason = strings.ToValidUTF8(reason, "?")
	if len(reason) > 500 {
		reason = reason[:500]
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		row, err := s.getCheckRerun(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status != string(store.CheckRerunRunning) {
			return fmt.Errorf("check rerun %d is %s: %w", id, row.Status, store.ErrConflict)
		}
		if row.Owner != owner {
			return fmt.Errorf("check rerun %d: taken over by %s: %w", id, cmp.Or(row.Owner, "no one"), store.ErrLeaseLost)
		}
		now := s.now().UnixMilli()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE check_reruns SET status = 'failed', error = ?, updated_at = ?, finished_at = ?,
			lease_until = 0 WHERE id = ?`), reason, now, now, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, "qad", "checks.rerun.fail", "check_rerun", id,
			rerunDetail{Week: row.Week, CheckVersion: row.CheckVersion, Done: row.Done, Error: reason})
	})
	if err != nil {
		return fmt.Errorf("sqlstore: fail check rerun: %w", err)
	}
	return nil
}
