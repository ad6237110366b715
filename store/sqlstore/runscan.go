package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"qa-sampling/store"
	"qa-sampling/transcript"
	"strings"
	"time"
)

// pickedInWeekSQL selects the (external id, agent id) pairs of the picks
// of the transcripts that ended in a week, from the picks' own copies of
// the transcript's end time and external id, with no join to transcripts:
// a range of picks_week, which carries the columns read (on SQLite that
// range is all that is read; on PostgreSQL the scan may still visit the
// heap for rows not yet all-visible). more narrows the picks further.
func pickedInWeekSQL(more string) string {
	return "SELECT external_id, agent_id FROM picks WHERE ended_at >= ? AND ended_at < ?" + more
}

// pickedTranscriptsSQL selects, per pick p, its transcript's fields and
// the pick's columns cols, from the picks p named by where. A picked
// transcript is frozen, so its end time stays the pick's copy. On SQLite
// the transcript is therefore found in the transcripts_sampling index by
// (ended_at, rowid) and its fields are read from the sample record stored
// there (split in Go, splitRecord): the index holds a hundred rows a page
// where the table holds seven, so the 10,000 to 20,000 picks of a week
// touch about half the pages, and ones the week's scan read. CROSS JOIN
// keeps the picks the outer loop. On PostgreSQL the fields are t's
// external_id and channel, joined by id.
func pickedTranscriptsSQL(d dialect, cols, where string) string {
	if d == dialectSQLite {
		return "SELECT " + sampleRecordSQL() + " AS rec, " + cols +
			" FROM picks p CROSS JOIN transcripts t INDEXED BY transcripts_sampling ON t.ended_at = p.ended_at AND t.id = p.transcript_id" + where
	}
	return "SELECT t.external_id, t.channel, " + cols + " FROM picks p JOIN transcripts t ON t.id = p.transcript_id" + where
}

// pickedFields is what pickedTranscriptsSQL reads of a transcript:
// the record on SQLite, the columns on PostgreSQL.
type pickedFields struct {
	rec, externalID, channel string
}

// dest is where rows.Scan puts the transcript's fields.
func (f *pickedFields) dest(d dialect) []any {
	if d == dialectSQLite {
		return []any{&f.rec}
	}
	return []any{&f.externalID, &f.channel}
}

// parse sets the external id and channel from a SQLite record.
func (f *pickedFields) parse(d dialect) error {
	if d != dialectSQLite {
		return nil
	}
	var fs [recFields]string
	var ns [recFields]int64
	if err := splitRecord(f.rec, &fs, &ns); err != nil {
		return err
	}
	f.externalID, f.channel = fs[recExternalID], fs[recChannel]
	return nil
}

// PickedInWeek returns the (external id, agent id) pairs picked for
// transcripts that ended in [from, to), read from the picks alone by their
// copies of the transcript's end time and external id (pickedInWeekSQL).
func (s *Store) PickedInWeek(ctx context.Context, from, to time.Time) (map[[2]string]bool, error) {
	return s.pickedPairs(ctx, pickedInWeekSQL(""), from.UnixMilli(), to.UnixMilli())
}

// pickedPairs reads the (external id, agent id) pairs that query selects.
func (s *Store) pickedPairs(ctx context.Context, query string, args ...any) (map[[2]string]bool, error) {
	rows, err := s.r.QueryContext(ctx, s.r.Rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: picked in week: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := make(map[[2]string]bool)
	var pair [2]string
	for rows.Next() {
		if err := rows.Scan(&pair[0], &pair[1]); err != nil {
			return nil, fmt.Errorf("sqlstore: picked in week: %w", err)
		}
		out[pair] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: picked in week: %w", err)
	}
	return out, nil
}

// sampleFields are what ScanWeek reads of a transcript, in record order:
// the strings first, then the integers parseSampleRecord expects.
var sampleFields = []string{
	"external_id", "agent_id", "coalesce(secondary_agents, '')", "channel", "customer_tier", "coalesce(tags, '')",
	"coalesce(csat, 0)", "transfer_count", "handle_ms", "ended_at",
	"message_count", "agent_message_count", "customer_message_count", "owner_wrote",
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
	recOwnerWrote
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
//
// The columns opts asks for follow, read from the table (see scanExtras).
func scanWeekSQL(d dialect, opts store.ScanOptions) string {
	extras := ""
	if opts.ResponseTimes {
		extras += ", t.first_response_ms, t.mean_response_ns"
	}
	if opts.Attributes {
		extras += ", t.body"
	}
	if opts.CheckFlags {
		extras += ", t.check_flags"
	}
	if d == dialectPostgres {
		fields := make([]string, len(sampleFields))
		for i, f := range sampleFields {
			fields[i] = sampleColumn(f)
		}
		return "SELECT " + strings.Join(fields, ", ") + extras + " FROM transcripts t WHERE t.ended_at >= $1 AND t.ended_at < $2"
	}
	return "SELECT " + sampleRecordSQL() + extras + " FROM transcripts t INDEXED BY transcripts_sampling WHERE t.ended_at >= ? AND t.ended_at < ?"
}

// scanExtras holds the columns ScanOptions add to a row.
type scanExtras struct {
	opts            store.ScanOptions
	firstMS, meanNS sql.NullInt64
	body            []byte
	checkFlags      int64
}

// dest returns where rows.Scan puts the extra columns, in scanWeekSQL's
// order.
func (x *scanExtras) dest() []any {
	var out []any
	if x.opts.ResponseTimes {
		out = append(out, &x.firstMS, &x.meanNS)
	}
	if x.opts.Attributes {
		out = append(out, &x.body)
	}
	if x.opts.CheckFlags {
		out = append(out, &x.checkFlags)
	}
	return out
}

// fillExtras sets the extra fields of r from the columns scanned.
func (s *Store) fillExtras(ctx context.Context, x *scanExtras, r *store.SampleRow) error {
	if x.opts.ResponseTimes {
		r.FirstResponse = orDuration(x.firstMS, time.Millisecond)
		r.MeanAgentResponse = orDuration(x.meanNS, time.Nanosecond)
	}
	if x.opts.Attributes {
		attrs, err := s.attributes(ctx, x.body)
		if err != nil {
			return fmt.Errorf("transcript %q: body: %w", r.ExternalID, err)
		}
		r.Attributes = attrs
	}
	r.CheckFlags = uint64(x.checkFlags)
	return nil
}

// ScanWeek streams the transcripts that ended in [from, to) to fn, one row
// in memory at a time. The strings of a row share memory with what it was
// read from: the driver's row (about 150 bytes); on SQLite without
// ScanOptions, an hour's block (about 300 KB, see blockDecoder), or an
// hour's records read from the index (scanWeekChunks; the external id is
// a copy of its own there). A consumer that keeps one keeps that, which
// costs less than copying every field of every row: the sampler keeps a
// run's candidates' ids, up to the week's blocks (47 MB at a million
// chats) until the run ends, and copies those it puts in its result.
func (s *Store) ScanWeek(ctx context.Context, from, to time.Time, opts store.ScanOptions, fn func(store.SampleRow) error) error {
	if s.dialect == dialectSQLite && plainScan(opts) {
		return s.scanWeekBlocks(ctx, from, to, opts.KeySeed, fn)
	}
	return s.scanSampleRows(ctx, scanWeekSQL(s.dialect, opts), opts, []any{from.UnixMilli(), to.UnixMilli()}, fn)
}

// scanChunk is the span of end times scanWeekChunks reads per query: for
// a week of a million chats, 6,000 rows and 900 KB.
const scanChunk = time.Hour

// chunkSep separates the records of a chunk; like recordSep it never
// occurs in a field.
const chunkSep = '\x1e'

// scanWeekChunkSQL joins the sample records of a span of end times into
// one string, with their count.
func scanWeekChunkSQL() string {
	return "SELECT group_concat(" + sampleRecordSQL() + ", char(30)), count(*) FROM transcripts t INDEXED BY transcripts_sampling WHERE t.ended_at >= ? AND t.ended_at < ?"
}

// scanWeekChunks is ScanWeek on SQLite without extra columns: it reads
// the week an hour at a time, each hour's records joined into one string
// by SQLite (group_concat over the same index range). A row through the
// driver costs a step, a column type and a column text (each taking the
// connection's mutex) and a copy into Go; that was half of the scan's
// time, and an hour of records costs it once (see rowBuilder.chunk).
func (s *Store) scanWeekChunks(ctx context.Context, from, to time.Time, fn func(store.SampleRow) error) error {
	var spans [][2]int64
	for lo := from; lo.Before(to); lo = lo.Add(scanChunk) {
		hi := lo.Add(scanChunk)
		if hi.After(to) {
			hi = to
		}
		spans = append(spans, [2]int64{lo.UnixMilli(), hi.UnixMilli()})
	}
	return s.scanChunks(ctx, scanWeekChunkSQL(), func(i int) ([]any, bool) {
		if i == len(spans) {
			return nil, false
		}
		return []any{spans[i][0], spans[i][1]}, true
	}, fn)
}

// scanChunks runs query, which selects group_concat of sample records
// and their count, with the arguments next gives for each chunk until it
// returns false, and streams the records to fn as rows.
func (s *Store) scanChunks(ctx context.Context, query string, next func(i int) ([]any, bool), fn func(store.SampleRow) error) error {
	var rb rowBuilder
	for i := 0; ; i++ {
		args, ok := next(i)
		if !ok {
			return nil
		}
		var (
			all   sql.NullString
			count int64
		)
		if err := s.r.QueryRowContext(ctx, query, args...).Scan(&all, &count); err != nil {
			return fmt.Errorf("sqlstore: scan week: %w", err)
		}
		if err := rb.chunk(all.String, count, args, fn); err != nil {
			return err
		}
	}
}

// chunk splits all, count sample records joined by chunkSep, into rows
// for fn, and returns fn's first error as it is. The count guards the
// split: a record that went missing (NULL) or a separator inside a field
// would make them disagree, and the scan fails rather than drop a row.
// External ids are copied out of all, so that a consumer keeping them
// (the sampler keeps its candidates') does not keep whole chunks.
// span names the chunk in an error.
func (rb *rowBuilder) chunk(all string, count int64, span []any, fn func(store.SampleRow) error) error {
	rest, n := all, int64(0)
	for ; n < count && rest != ""; n++ {
		rec := rest
		if k := strings.IndexByte(rest, chunkSep); k >= 0 {
			rec, rest = rest[:k], rest[k+1:]
		} else {
			rest = ""
		}
		if err := splitRecord(rec, &rb.f, &rb.n); err != nil {
			return fmt.Errorf("sqlstore: scan week: %w", err)
		}
		r, err := rb.row()
		if err != nil {
			return fmt.Errorf("sqlstore: scan week: %w", err)
		}
		r.ExternalID = strings.Clone(r.ExternalID)
		if err := fn(r); err != nil {
			return err
		}
	}
	if n != count || rest != "" {
		return fmt.Errorf("sqlstore: scan week: %d records in chunk %v, want %d", n, span, count)
	}
	return nil
}

// rowBuilder makes sample rows of split records (f, n), carving their
// AgentIDs and tags from shared blocks.
type rowBuilder struct {
	f [recFields]string
	n [recFields]int64
	// The AgentIDs of single-author rows, most of them, are carved from
	// one block, each capped so that an append by the consumer copies.
	block []string
	// The rows' tags are carved from blocks the same way.
	tagBlock []string
}

// row makes the row of f and n, with the agents it counts for.
func (b *rowBuilder) row() (store.SampleRow, error) {
	r, secondary, err := sampleRowIn(&b.f, &b.n, &b.tagBlock)
	if err != nil {
		return r, err
	}
	// The agents it counts for (transcript.Authors): the owner only if
	// they wrote, and the secondary authors.
	owner, ownerWrote := b.f[recAgentID], b.n[recOwnerWrote] != 0
	if secondary == nil && ownerWrote {
		if len(b.block) == 0 {
			b.block = make([]string, 1024)
		}
		r.AgentIDs, b.block = b.block[0:1:1], b.block[1:]
		r.AgentIDs[0] = owner
	} else {
		r.AgentIDs = make([]string, 0, 1+len(secondary))
		if ownerWrote || len(secondary) == 0 {
			r.AgentIDs = append(r.AgentIDs, owner)
		}
		for _, a := range secondary {
			if a != owner {
				r.AgentIDs = append(r.AgentIDs, a)
			}
		}
	}
	return r, nil
}

// scanSampleRows runs query, which selects what scanWeekSQL does with
// opts, and streams its rows to fn as ScanWeek does.
func (s *Store) scanSampleRows(ctx context.Context, query string, opts store.ScanOptions, args []any, fn func(store.SampleRow) error) error {
	rows, err := s.r.QueryxContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlstore: scan week: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var (
		rb   rowBuilder
		rec  string
		vals [recFields]any
		dest [recFields]any
	)
	for i := range dest {
		dest[i] = &vals[i]
	}
	extras := scanExtras{opts: opts}
	pgDest := append(dest[:], extras.dest()...)
	sqliteDest := append([]any{&rec}, extras.dest()...)
	for rows.Next() {
		if s.dialect == dialectPostgres {
			// Into *any: the driver's values are handed over without
			// database/sql's conversions.
			if err := rows.Scan(pgDest...); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
			if err := fromColumns(&vals, &rb.f, &rb.n); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
		} else {
			// A string into *string is handed over, not copied.
			if err := rows.Scan(sqliteDest...); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
			if err := splitRecord(rec, &rb.f, &rb.n); err != nil {
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
		}
		r, err := rb.row()
		if err != nil {
			return fmt.Errorf("sqlstore: scan week: %w", err)
		}
		if err := s.fillExtras(ctx, &extras, &r); err != nil {
			return fmt.Errorf("sqlstore: scan week: %w", err)
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

// attributes decodes the attributes of a body; a dictionary another
// replica trained since this one loaded is fetched once and the decode
// retried, as in decode.
func (s *Store) attributes(ctx context.Context, body []byte) (map[string]string, error) {
	attrs, err := s.codec.Attributes(body)
	if errors.Is(err, transcript.ErrUnknownDictionary) {
		if lerr := s.loadDictionaries(ctx); lerr != nil {
			return nil, lerr
		}
		return s.codec.Attributes(body)
	}
	return attrs, err
}

// splitRecord splits a SQLite sample record into its string fields f and
// integer fields n, in one pass over its bytes: the fields are a few
// bytes each, for which a loop beats a call per field to IndexByte.
func splitRecord(rec string, f *[recFields]string, n *[recFields]int64) error {
	field, start := 0, 0
	for i := 0; i < len(rec); i++ {
		if rec[i] != recordSep {
			continue
		}
		if field == recFields-1 {
			return fmt.Errorf("sample record %q: more than %d fields", rec, recFields)
		}
		f[field], field, start = rec[start:i], field+1, i+1
	}
	if field != recFields-1 {
		return fmt.Errorf("sample record %q: %d fields, want %d", rec, field+1, recFields)
	}
	f[field] = rec[start:]
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
		case bool: // owner_wrote
			if x {
				n[i] = 1
			} else {
				n[i] = 0
			}
		default:
			return fmt.Errorf("sample column %s: unexpected %T", sampleFields[i], v)
		}
	}
	return nil
}

// sampleRow makes a row of the fields of a record, without AgentIDs, and
// returns the secondary authors (nil when none).
func sampleRow(f *[recFields]string, n *[recFields]int64) (r store.SampleRow, secondary []string, err error) {
	return sampleRowIn(f, n, nil)
}

// sampleRowIn is sampleRow with the tags carved from block (see
// parseStringArrayIn).
func sampleRowIn(f *[recFields]string, n *[recFields]int64, block *[]string) (r store.SampleRow, secondary []string, err error) {
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
		if r.Tags, err = parseStringArrayIn(f[recTags], block); err != nil {
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
	return parseStringArrayIn(s, nil)
}

// parseStringArrayIn is parseStringArray with the result carved from
// *block when block is not nil, as the scan's AgentIDs are: a week's
// tags were a million small allocations. The result's capacity is its
// own, so an append by the caller copies rather than overwriting the
// next row's.
func parseStringArrayIn(s string, block *[]string) ([]string, error) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' || strings.IndexByte(s, '\\') >= 0 {
		return decodeStringArray(s)
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return nil, nil
	}
	most := strings.Count(body, ",") + 1
	var out []string
	if block == nil {
		out = make([]string, 0, most)
	} else {
		if len(*block) < most {
			*block = make([]string, max(1024, most))
		}
		out, *block = (*block)[0:0:most], (*block)[most:]
	}
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

// bareScanSQL reads one column of the week off an index and nothing else:
// the floor any weekly scan is compared with. SQLite has one index over end
// times, the sampling one, so the floor reads only its ended_at.
func bareScanSQL(d dialect) string {
	if d == dialectSQLite {
		return "SELECT ended_at FROM transcripts INDEXED BY transcripts_sampling WHERE ended_at >= ? AND ended_at < ?"
	}
	return "SELECT agent_id FROM transcripts WHERE ended_at >= $1 AND ended_at < $2"
}

// BareScanWeek counts the transcripts that ended in [from, to) by reading
// one column of each off the index ScanWeek reads, on the same reader
// pool: the floor a week's scan and a preview are measured against
// (BenchmarkScanWeek, cmd/storebench). Nothing else uses it.
func (s *Store) BareScanWeek(ctx context.Context, from, to time.Time) (int, error) {
	rows, err := s.r.QueryContext(ctx, bareScanSQL(s.dialect), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: bare scan: %w", err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	var v any
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return n, fmt.Errorf("sqlstore: bare scan: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("sqlstore: bare scan: %w", err)
	}
	return n, nil
}
