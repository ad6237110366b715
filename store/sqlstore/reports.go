package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"qa-sampling/store"
	"runtime"
	"slices"
	"strconv"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"
)

// reportChunk bounds the agent ids bound in one query, well under both
// databases' parameter limits.
const reportChunk = 500

// ReportRows reads the counted reviews of the agents in the week range,
// chunk by chunk of agents, as many chunks at once as there are CPUs:
// decoding a team's hundred thousand rows is CPU-bound on both databases.
// Each agent's reviews come from one query, so one snapshot.
func (s *Store) ReportRows(ctx context.Context, f store.ReportFilter) ([]store.ReportRow, error) {
	var chunks [][]string
	for start := 0; start < len(f.AgentIDs); start += reportChunk {
		chunks = append(chunks, f.AgentIDs[start:min(start+reportChunk, len(f.AgentIDs))])
	}
	parts := make([][]store.ReportRow, len(chunks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, ids := range chunks {
		g.Go(func() error {
			var err error
			parts[i], err = s.reportRowsOf(gctx, ids, f.FromWeek, f.ToWeek)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("sqlstore: report rows: %w", err)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return slices.Concat(parts...), nil
}

// reportRowsOf reads one chunk of agents' report cells. It scans raw
// bytes and interns the few distinct strings (agent ids, weeks, keys, flag
// lists, scores) rather than allocating each review's: a team report
// decodes a hundred thousand reviews, and allocation was a third of its
// time.
func (s *Store) reportRowsOf(ctx context.Context, ids []string, from, to string) ([]store.ReportRow, error) {
	q, args, err := sqlx.In(`SELECT agent_id, week, reviews FROM report_cells
		WHERE agent_id IN (?) AND week >= ? AND week <= ?`, ids, from, to)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, s.r.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var (
		out                  []store.ReportRow
		dec                  reportDecoder
		agent, week, reviews sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&agent, &week, &reviews); err != nil {
			return nil, err
		}
		agentID, weekText := dec.intern(agent), dec.intern(week)
		for len(reviews) > 0 {
			var line []byte
			line, reviews, _ = bytes.Cut(reviews, []byte{'\n'})
			if len(line) == 0 {
				continue // a cell rewritten to nothing, before its delete
			}
			r, err := dec.review(line)
			if err != nil {
				return nil, fmt.Errorf("report cell %s %s: %w", agentID, weekText, err)
			}
			r.AgentID, r.Week = agentID, weekText
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// writeReportCell rewrites the report cell of agent's week from its final
// reviews; every change to which reviews are final calls it in the same
// transaction. It locks the cell before reading the reviews: on PostgreSQL
// (read committed, several finalising workers) a read taken first could
// miss a review another transaction appends to the cell and commits
// meanwhile, and the rewrite would then drop that review's line. Once the
// lock is held, every other writer of the cell has committed or waits, and
// the next statement sees what they committed.
func (s *Store) writeReportCell(ctx context.Context, tx *sqlx.Tx, agentID, week string) error {
	if _, err := s.txExec(ctx, tx, `INSERT INTO report_cells (agent_id, week, reviews) VALUES (?, ?, '')
		ON CONFLICT (agent_id, week) DO UPDATE SET reviews = report_cells.reviews`, agentID, week); err != nil {
		return err
	}
	var reviews []struct {
		Score    float64 `db:"score"`
		Critical bool    `db:"critical"`
		Flags    string  `db:"flags"`
		Ratings  string  `db:"ratings"`
	}
	if err := tx.SelectContext(ctx, &reviews, tx.Rebind(`SELECT score, critical, flags, ratings FROM reviews
		WHERE agent_id = ? AND week = ? AND status = 'final' ORDER BY id`), agentID, week); err != nil {
		return err
	}
	if len(reviews) == 0 {
		_, err := s.txExec(ctx, tx, "DELETE FROM report_cells WHERE agent_id = ? AND week = ?", agentID, week)
		return err
	}
	var b []byte
	for i, r := range reviews {
		if i > 0 {
			b = append(b, '\n')
		}
		b = reportLine(b, r.Score, r.Critical, r.Flags, r.Ratings)
	}
	_, err := s.txExec(ctx, tx, "UPDATE report_cells SET reviews = ? WHERE agent_id = ? AND week = ?", string(b), agentID, week)
	return err
}

// appendReportCell adds one newly final review's line to its report cell:
// what finalising does when no other review stops counting.
func (s *Store) appendReportCell(ctx context.Context, tx *sqlx.Tx, agentID, week string, line []byte) error {
	_, err := s.txExec(ctx, tx, `INSERT INTO report_cells (agent_id, week, reviews) VALUES (?, ?, ?)
		ON CONFLICT (agent_id, week) DO UPDATE SET reviews = report_cells.reviews || ? || excluded.reviews`,
		agentID, week, string(line), "\n")
	return err
}

// reportLine appends one review's report-cell line to b:
// "score|critical|flags|ratings", the score in its shortest exact form.
func reportLine(b []byte, score float64, critical bool, flags, ratings string) []byte {
	b = strconv.AppendFloat(b, score, 'g', -1, 64)
	b = append(b, '|')
	b = strconv.AppendBool(b, critical)
	b = append(b, '|')
	b = append(b, flags...)
	b = append(b, '|')
	return append(b, ratings...)
}

// reportDecoder shares what report rows repeat. The slices it hands out
// (flag lists, ratings) are shared or carved from one slab: read-only.
type reportDecoder struct {
	strs      map[string]string
	flagLists map[string][]string
	scores    map[string]float64
	slab      []store.Rating
}

// review decodes one line of a report cell (see writeReportCell).
func (d *reportDecoder) review(line []byte) (store.ReportRow, error) {
	var r store.ReportRow
	score, rest, ok1 := bytes.Cut(line, []byte{'|'})
	critical, rest, ok2 := bytes.Cut(rest, []byte{'|'})
	flags, ratings, ok3 := bytes.Cut(rest, []byte{'|'})
	if !ok1 || !ok2 || !ok3 {
		return r, fmt.Errorf("malformed review %q", line)
	}
	var err error
	if r.Score, err = d.score(score); err != nil {
		return r, err
	}
	r.Critical = string(critical) == "true"
	r.Flags = d.flags(flags)
	r.Ratings, err = d.ratings(ratings)
	return r, err
}

// score parses a score, once per distinct text: scores repeat.
func (d *reportDecoder) score(b []byte) (float64, error) {
	if v, ok := d.scores[string(b)]; ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, err
	}
	if d.scores == nil {
		d.scores = make(map[string]float64)
	}
	d.scores[string(b)] = v
	return v, nil
}

func (d *reportDecoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	if d.strs == nil {
		d.strs = make(map[string]string)
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *reportDecoder) flags(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	if l, ok := d.flagLists[string(b)]; ok {
		return l
	}
	if d.flagLists == nil {
		d.flagLists = make(map[string][]string)
	}
	l := splitFlags(string(b))
	d.flagLists[string(b)] = l
	return l
}

// ratingSlab is how many ratings one slab allocation holds.
const ratingSlab = 4096

func (d *reportDecoder) ratings(b []byte) ([]store.Rating, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if n := bytes.Count(b, []byte{';'}) + 1; cap(d.slab)-len(d.slab) < n {
		d.slab = make([]store.Rating, 0, max(ratingSlab, n))
	}
	start := len(d.slab)
	var err error
	if d.slab, err = appendRatings(d.slab, b, d.intern); err != nil {
		return nil, err
	}
	return d.slab[start:len(d.slab):len(d.slab)], nil
}
