package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// insertColumns are bound per row, in this order, by appendRowArgs;
// revision and sampled start as literals and ingested_at = updated_at = now.
const insertColumns = `external_id, agent_id, channel, customer_id, customer_tier, started_at, ended_at,
	tags, csat, transfer_count, message_count, agent_message_count, customer_message_count,
	bot_message_count, system_message_count, first_response_ms, mean_response_ns,
	agent_reply_count, handle_ms, content_hash, body, secondary_agents, owner_wrote,
	check_version, check_flags, check_hits`

const insertColumnCount = 26

// upsertTail turns a conflicting insert into an overwrite when the content
// changed and the stored version is not frozen (frozenSQL) nor put before
// a calibration session (its inspectors must all score the same version;
// the chat still reads as unsampled); otherwise the
// row is left as it is and RETURNING yields nothing for it. ingested_at is
// kept: it records the first push.
const upsertTail = ` ON CONFLICT (external_id) DO UPDATE SET
	agent_id = excluded.agent_id,
	channel = excluded.channel,
	customer_id = excluded.customer_id,
	customer_tier = excluded.customer_tier,
	started_at = excluded.started_at,
	ended_at = excluded.ended_at,
	tags = excluded.tags,
	csat = excluded.csat,
	transfer_count = excluded.transfer_count,
	message_count = excluded.message_count,
	agent_message_count = excluded.agent_message_count,
	customer_message_count = excluded.customer_message_count,
	bot_message_count = excluded.bot_message_count,
	system_message_count = excluded.system_message_count,
	first_response_ms = excluded.first_response_ms,
	mean_response_ns = excluded.mean_response_ns,
	agent_reply_count = excluded.agent_reply_count,
	handle_ms = excluded.handle_ms,
	content_hash = excluded.content_hash,
	body = excluded.body,
	secondary_agents = excluded.secondary_agents,
	owner_wrote = excluded.owner_wrote,
	check_version = excluded.check_version,
	check_flags = excluded.check_flags,
	check_hits = excluded.check_hits,
	revision = transcripts.revision + 1,
	updated_at = excluded.updated_at
WHERE transcripts.content_hash <> excluded.content_hash AND NOT ` + frozenSQL + `
	AND NOT EXISTS (SELECT 1 FROM calibration_items WHERE calibration_items.transcript_id = transcripts.id)
RETURNING `

// frozenSQL tells whether the transcripts row is frozen: sampled, which
// MarkSampled sets (and, on PostgreSQL, a pick's insert; see
// pickedTranscripts), or picked. On SQLite a pick does not set the flag:
// rewriting a table page per picked row was most of a weekly run's writes,
// and the single writer already orders a push after the run that picked
// the row, so that the push sees the pick. The probe uses the picks'
// UNIQUE (transcript_id, agent_id) index and runs only for a push that
// changed a stored transcript.
const frozenSQL = `(transcripts.sampled OR EXISTS (SELECT 1 FROM picks WHERE picks.transcript_id = transcripts.id))`

// appendRowArgs appends the insertColumns values of p.
func appendRowArgs(args []any, p *transcript.Prepared) ([]any, error) {
	var tags any // NULL when there are none: most rows, no bytes
	if len(p.Tags) > 0 {
		b, err := json.Marshal(p.Tags)
		if err != nil {
			return nil, err
		}
		tags = string(b)
	}
	// The secondary authors again, as a JSON array in agent_id order; NULL
	// when there are none (most rows). transcript_agents holds them with
	// their foreign keys; this copy lets the weekly scan read them off an
	// index instead of probing that table once per conversation (see
	// ScanWeek).
	var secondary any
	if ids := secondaryAgents(p); len(ids) > 0 {
		slices.Sort(ids)
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, err
		}
		secondary = string(b)
	}
	var csat any
	if p.CSAT != 0 {
		csat = int64(p.CSAT)
	}
	m := &p.Metrics
	var first, mean any
	if m.FirstResponse != transcript.NoResponse {
		first = m.FirstResponse.Milliseconds()
	}
	if m.MeanAgentResponse != transcript.NoResponse {
		mean = int64(m.MeanAgentResponse)
	}
	checkVersion, checkHits, err := checkArgs(&p.Checks)
	if err != nil {
		return nil, err
	}
	return append(args,
		p.ExternalID, p.AgentID, p.Channel, p.CustomerID, p.CustomerTier,
		p.StartedAt.UnixMilli(), p.EndedAt.UnixMilli(),
		tags, csat, int64(p.TransferCount),
		int64(m.MessageCount), int64(m.AgentMessageCount), int64(m.CustomerMessageCount),
		int64(m.BotMessageCount), int64(m.SystemMessageCount),
		first, mean, int64(m.AgentReplyCount), m.HandleTime.Milliseconds(),
		p.ContentHash, p.Body, secondary,
		// Whether the conversation counts for its agent (transcript.Authors),
		// which secondary_agents alone cannot tell.
		slices.Contains(p.AgentIDs, p.AgentID),
		checkVersion, int64(p.Checks.Flags), checkHits,
	), nil
}

// checkArgs are the check_version and check_hits values of c: NULL for a
// transcript never checked and for no hits (most conversations).
func checkArgs(c *transcript.Checks) (version, hits any, err error) {
	if c.Version != 0 {
		version = c.Version
	}
	if len(c.Hits) > 0 {
		b, err := json.Marshal(c.Hits)
		if err != nil {
			return nil, nil, err
		}
		hits = string(b)
	}
	return version, hits, nil
}

// secondaryAgents are the authors of p other than its agent, in order.
func secondaryAgents(p *transcript.Prepared) []string {
	var out []string
	for _, id := range p.AgentIDs {
		if id != p.AgentID && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// UpsertTranscripts stores a batch in one transaction; see store.Store.
func (s *Store) UpsertTranscripts(ctx context.Context, items []*transcript.Prepared) ([]store.Outcome, error) {
	if len(items) == 0 {
		return []store.Outcome{}, nil
	}
	index := make(map[string]int, len(items))
	for i, p := range items {
		if _, dup := index[p.ExternalID]; dup {
			return nil, fmt.Errorf("sqlstore: upsert transcripts: external_id %q appears twice in one batch", p.ExternalID)
		}
		index[p.ExternalID] = i
	}
	var out []store.Outcome
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		now := s.now().UnixMilli()
		out, err = upsertRows(ctx, tx, s.dialect, items, index, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: upsert %d transcripts: %w", len(items), err)
	}
	return out, nil
}

// resolveUnwritten tells Unchanged from KeptSampled for a row the upsert
// left alone: the content is the same, or the stored one is frozen.
func resolveUnwritten(storedHash, hash []byte) store.Outcome {
	if string(storedHash) == string(hash) {
		return store.Unchanged
	}
	return store.KeptSampled
}

// upsertSQL is the multi-row upsert of n rows. On PostgreSQL $1 is the
// time and each row takes insertColumnCount parameters after it; SQLite
// has no reusable positional parameters here, so each row takes its
// columns and then the time twice, all as ?.
func upsertSQL(d dialect, n int) string {
	var b strings.Builder
	b.Grow(n*(insertColumnCount*6+12) + 1024)
	b.WriteString("INSERT INTO transcripts (" + insertColumns + ", revision, sampled, ingested_at, updated_at) VALUES ")
	p := 2
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for range insertColumnCount {
			if d == dialectPostgres {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
				b.WriteString(", ")
				p++
			} else {
				b.WriteString("?, ")
			}
		}
		if d == dialectPostgres {
			b.WriteString("1, FALSE, $1, $1)")
		} else {
			b.WriteString("1, FALSE, ?, ?)")
		}
	}
	b.WriteString(upsertTail)
	b.WriteString("external_id, id, revision")
	return b.String()
}

// upsertRows writes the batch as multi-row statements. On PostgreSQL one
// round trip per row would cap ingest at a few thousand rows a second; on
// SQLite a statement per row spends more in database/sql and the VDBE
// setup than in the insert itself. Rows go in external_id order so that
// concurrent PostgreSQL batches lock index entries in one order and cannot
// deadlock.
func upsertRows(ctx context.Context, tx *sqlx.Tx, d dialect, items []*transcript.Prepared, index map[string]int, now int64) ([]store.Outcome, error) {
	out := make([]store.Outcome, len(items))
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(items[a].ExternalID, items[b].ExternalID) })

	var rewritten []int64 // ids of updated rows, whose secondary agents are replaced
	type agentRow struct {
		id    int64
		agent string
	}
	var agentRows []agentRow
	// chunkRows keeps a statement of 500 rows at 12,500 parameters at most,
	// under both PostgreSQL's 65,535 and SQLite's 32,766.
	for _, c := range chunks(len(order), chunkRows) {
		part := order[c[0]:c[1]]
		args := make([]any, 0, 1+len(part)*(insertColumnCount+2))
		if d == dialectPostgres {
			args = append(args, now)
		}
		var err error
		for _, i := range part {
			if args, err = appendRowArgs(args, items[i]); err != nil {
				return nil, err
			}
			if d == dialectSQLite {
				args = append(args, now, now)
			}
		}
		if err := func() error {
			rows, err := tx.QueryContext(ctx, upsertSQL(d, len(part)), args...)
			if err != nil {
				return err
			}
			defer func() { _ = rows.Close() }()
			for rows.Next() {
				var ext string
				var id, revision int64
				if err := rows.Scan(&ext, &id, &revision); err != nil {
					return err
				}
				i, ok := index[ext]
				if !ok {
					return fmt.Errorf("upsert returned unknown external_id %q", ext)
				}
				out[i] = store.Created
				if revision > 1 {
					out[i] = store.Updated
					rewritten = append(rewritten, id)
				}
				for _, a := range secondaryAgents(items[i]) {
					agentRows = append(agentRows, agentRow{id, a})
				}
			}
			return rows.Err()
		}(); err != nil {
			return nil, err
		}
	}

	var unwritten []string
	for i, o := range out {
		if o == 0 {
			unwritten = append(unwritten, items[i].ExternalID)
		}
	}
	if len(unwritten) > 0 {
		var stored []struct {
			ExternalID  string `db:"external_id"`
			ContentHash []byte `db:"content_hash"`
		}
		q, args, err := sqlx.In("SELECT external_id, content_hash FROM transcripts WHERE external_id IN (?)", unwritten)
		if err != nil {
			return nil, err
		}
		if err := tx.SelectContext(ctx, &stored, tx.Rebind(q), args...); err != nil {
			return nil, err
		}
		for _, r := range stored {
			i := index[r.ExternalID]
			out[i] = resolveUnwritten(r.ContentHash, items[i].ContentHash)
		}
		for i, o := range out {
			if o == 0 {
				return nil, fmt.Errorf("transcript %q: neither written nor found", items[i].ExternalID)
			}
		}
	}

	if len(rewritten) > 0 {
		q, args, err := sqlx.In("DELETE FROM transcript_agents WHERE transcript_id IN (?)", rewritten)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return nil, err
		}
	}
	for _, c := range chunks(len(agentRows), chunkRows) {
		part := agentRows[c[0]:c[1]]
		args := make([]any, 0, 2*len(part))
		for _, r := range part {
			args = append(args, r.id, r.agent)
		}
		q := tx.Rebind("INSERT INTO transcript_agents (transcript_id, agent_id) VALUES " + valuesList(len(part), "(?, ?)"))
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type transcriptRow struct {
	ID                   int64          `db:"id"`
	ExternalID           string         `db:"external_id"`
	AgentID              string         `db:"agent_id"`
	Channel              string         `db:"channel"`
	CustomerID           string         `db:"customer_id"`
	CustomerTier         string         `db:"customer_tier"`
	StartedAt            int64          `db:"started_at"`
	EndedAt              int64          `db:"ended_at"`
	Tags                 sql.NullString `db:"tags"`
	CSAT                 sql.NullInt64  `db:"csat"`
	TransferCount        int64          `db:"transfer_count"`
	MessageCount         int64          `db:"message_count"`
	AgentMessageCount    int64          `db:"agent_message_count"`
	CustomerMessageCount int64          `db:"customer_message_count"`
	BotMessageCount      int64          `db:"bot_message_count"`
	SystemMessageCount   int64          `db:"system_message_count"`
	FirstResponseMS      sql.NullInt64  `db:"first_response_ms"`
	MeanResponseNS       sql.NullInt64  `db:"mean_response_ns"`
	AgentReplyCount      int64          `db:"agent_reply_count"`
	HandleMS             int64          `db:"handle_ms"`
	Revision             int64          `db:"revision"`
	Sampled              bool           `db:"sampled"`
	IngestedAt           int64          `db:"ingested_at"`
	UpdatedAt            int64          `db:"updated_at"`
	Body                 []byte         `db:"body"`
	OwnerWrote           bool           `db:"owner_wrote"`
	CheckVersion         sql.NullInt64  `db:"check_version"`
	CheckFlags           int64          `db:"check_flags"`
	CheckHits            sql.NullString `db:"check_hits"`
	PurgedAt             sql.NullInt64  `db:"purged_at"`
}

const transcriptColumns = `id, external_id, agent_id, channel, customer_id, customer_tier, started_at, ended_at,
	tags, csat, transfer_count, message_count, agent_message_count, customer_message_count,
	bot_message_count, system_message_count, first_response_ms, mean_response_ns,
	agent_reply_count, handle_ms, revision, ` + frozenSQL + ` AS sampled, ingested_at, updated_at, body, owner_wrote,
	check_version, check_flags, check_hits, purged_at`

// GetTranscript reads one transcript back, or store.ErrNotFound.
func (s *Store) GetTranscript(ctx context.Context, externalID string) (store.StoredTranscript, error) {
	var r transcriptRow
	var secondary []string
	err := s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &r, tx.Rebind("SELECT "+transcriptColumns+" FROM transcripts WHERE external_id = ?"), externalID); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &secondary, tx.Rebind("SELECT agent_id FROM transcript_agents WHERE transcript_id = ?"), r.ID)
	})
	if err != nil {
		return store.StoredTranscript{}, notFound(err, fmt.Sprintf("transcript %q", externalID))
	}
	msgs, attrs, err := s.decode(ctx, r.Body)
	if err != nil {
		return store.StoredTranscript{}, fmt.Errorf("sqlstore: transcript %q: %w", externalID, err)
	}
	st, err := r.stored(msgs, attrs, secondary)
	if err != nil {
		return store.StoredTranscript{}, fmt.Errorf("sqlstore: transcript %q: %w", externalID, err)
	}
	return st, nil
}

func (r *transcriptRow) stored(msgs []transcript.Message, attrs map[string]string, secondary []string) (store.StoredTranscript, error) {
	var tags []string
	if r.Tags.Valid {
		if err := json.Unmarshal([]byte(r.Tags.String), &tags); err != nil {
			return store.StoredTranscript{}, fmt.Errorf("tags: %w", err)
		}
	}
	st := store.StoredTranscript{
		Transcript: transcript.Transcript{
			ExternalID:    r.ExternalID,
			AgentID:       r.AgentID,
			Channel:       r.Channel,
			CustomerID:    r.CustomerID,
			CustomerTier:  r.CustomerTier,
			StartedAt:     fromMillis(r.StartedAt),
			EndedAt:       fromMillis(r.EndedAt),
			Messages:      msgs,
			Tags:          tags,
			CSAT:          int(r.CSAT.Int64), // NULL reads as 0, "none"
			TransferCount: int(r.TransferCount),
			Attributes:    attrs,
		},
		Metrics: transcript.Metrics{
			MessageCount:         int(r.MessageCount),
			AgentMessageCount:    int(r.AgentMessageCount),
			CustomerMessageCount: int(r.CustomerMessageCount),
			BotMessageCount:      int(r.BotMessageCount),
			SystemMessageCount:   int(r.SystemMessageCount),
			FirstResponse:        orDuration(r.FirstResponseMS, time.Millisecond),
			MeanAgentResponse:    orDuration(r.MeanResponseNS, time.Nanosecond),
			AgentReplyCount:      int(r.AgentReplyCount),
			HandleTime:           time.Duration(r.HandleMS) * time.Millisecond,
		},
		Checks:     transcript.Checks{Version: r.CheckVersion.Int64, Flags: uint64(r.CheckFlags)},
		Revision:   r.Revision,
		Sampled:    r.Sampled,
		IngestedAt: fromMillis(r.IngestedAt),
		UpdatedAt:  fromMillis(r.UpdatedAt),
	}
	if r.PurgedAt.Valid {
		st.PurgedAt = fromMillis(r.PurgedAt.Int64)
	}
	if r.CheckHits.Valid {
		if err := json.Unmarshal([]byte(r.CheckHits.String), &st.Checks.Hits); err != nil {
			return store.StoredTranscript{}, fmt.Errorf("check_hits: %w", err)
		}
	}
	// The agents it counts for, as sampling reads them: the owner only if
	// they wrote (owner_wrote), and the secondary authors.
	if r.OwnerWrote {
		st.AgentIDs = append([]string{r.AgentID}, secondary...)
	} else {
		st.AgentIDs = slices.Clone(secondary)
	}
	// The table has no order; list them as Prepare did (transcript.Authors:
	// the owner first if they wrote, then by first message, which the body
	// has), any others after, by id.
	authors := transcript.Authors(&st.Transcript)
	rank := func(id string) int {
		if i := slices.Index(authors, id); i >= 0 {
			return i
		}
		return len(authors)
	}
	slices.SortStableFunc(st.AgentIDs, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return st, nil
}

// MarkSampled sets the sampled flag, which freezes a transcript as a pick
// does (frozenSQL); unknown ids are ignored.
func (s *Store) MarkSampled(ctx context.Context, externalIDs []string) error {
	ids := slices.Clone(externalIDs)
	slices.Sort(ids) // one lock order for concurrent PostgreSQL callers
	ids = slices.Compact(ids)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, c := range chunks(len(ids), chunkRows) {
			q, args, err := sqlx.In("UPDATE transcripts SET sampled = TRUE WHERE external_id IN (?) AND NOT sampled", ids[c[0]:c[1]])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: mark sampled: %w", err)
	}
	return nil
}

// orDuration reads a stored response time in unit; NULL is
// transcript.NoResponse.
func orDuration(v sql.NullInt64, unit time.Duration) time.Duration {
	if !v.Valid {
		return transcript.NoResponse
	}
	return time.Duration(v.Int64) * unit
}
