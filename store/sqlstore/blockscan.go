package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/sampler"
	"qa-sampling/store"
)

// plainScan reports whether opts ask for nothing beyond the sample record
// and keys: what the sampling index holds, so what blocks and the chunked
// scan serve.
func plainScan(opts store.ScanOptions) bool {
	opts.KeySeed = ""
	return opts == store.ScanOptions{}
}

// blockCounters count what scanWeekBlocks did, for tests and storebench.
type blockCounters struct {
	read, built, written atomic.Int64
}

// BlockStats reports how many hour blocks SQLite's weekly scans read,
// built from the index and stored since the store was opened.
func (s *Store) BlockStats() (read, built, written int64) {
	return s.blocks.read.Load(), s.blocks.built.Load(), s.blocks.written.Load()
}

// PackWeek builds the blocks of the whole UTC hours of [from, to) that are
// missing, stale or keyed under another seed, keyed under keySeed, so that
// the next ScanWeek of them with that seed reads blocks only; it returns
// how many it built. PostgreSQL keeps no blocks and builds none.
func (s *Store) PackWeek(ctx context.Context, from, to time.Time, keySeed string) (int, error) {
	first, last, ok := wholeHours(from.UnixMilli(), to.UnixMilli())
	if s.dialect != dialectSQLite || !ok {
		return 0, nil
	}
	query, args := validBlocksSQL("b.hour", first, last, seedDigest(keySeed))
	var valid []int64
	if err := s.r.SelectContext(ctx, &valid, query, args...); err != nil {
		return 0, fmt.Errorf("sqlstore: pack week: %w", err)
	}
	served := make([]bool, last-first)
	for _, h := range valid {
		served[h-first] = true
	}
	built, stored, err := s.packHours(ctx, first, served, keySeed, func(store.SampleRow) error { return nil })
	if err == nil && stored != nil {
		err = fmt.Errorf("sqlstore: pack week: %w", stored)
	}
	if err != nil {
		return 0, err
	}
	return built, nil
}

// PacksWeeks reports whether PackWeek packs: on SQLite.
func (s *Store) PacksWeeks() bool { return s.dialect == dialectSQLite }

// validBlocksSQL selects cols of the blocks of hours [first, last) still
// valid, built at their hour's current change count, and with digest
// keyed under its seed; it returns the query and its arguments.
func validBlocksSQL(cols string, first, last int64, digest []byte) (string, []any) {
	q := "SELECT " + cols + " FROM sample_blocks b LEFT JOIN sample_hour_changes c ON c.hour = b.hour" +
		" WHERE b.hour >= ? AND b.hour < ? AND b.version = coalesce(c.n, 0)"
	args := []any{first, last}
	if digest != nil {
		q += " AND b.seed_digest = ?"
		args = append(args, digest)
	}
	return q, args
}

// buildBlockSQL reads an hour's records as scanWeekChunkSQL does, and the
// hour's change count in the same statement, so in the same snapshot.
func buildBlockSQL() string {
	return "SELECT group_concat(" + sampleRecordSQL() + ", char(30)), count(*), (SELECT n FROM sample_hour_changes WHERE hour = ?)" +
		" FROM transcripts t INDEXED BY transcripts_sampling WHERE t.ended_at >= ? AND t.ended_at < ?"
}

// builtBlock is a block made by a scan, to be stored.
type builtBlock struct {
	hour, version int64
	rows          int
	data          []byte
}

// scanWeekBlocks is ScanWeek on SQLite for plain options: the whole UTC
// hours of [from, to) come from their blocks where those are valid, the
// others from the index an hour at a time, which also builds their blocks
// (stored before it returns, in the background of the scan); the partial
// hours at either end, when the week does not start on a UTC hour, come
// from the index. With a seed the rows come keyed: from blocks keyed under
// the same seed, or keyed here as they are read.
func (s *Store) scanWeekBlocks(ctx context.Context, from, to time.Time, seed string, fn func(store.SampleRow) error) error {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	first, last, ok := wholeHours(lo, hi)
	if !ok {
		return s.scanWeekChunks(ctx, from, to, fn)
	}
	served := make([]bool, last-first)
	if err := s.readBlocks(ctx, first, last, seedDigest(seed), func(hour int64, data []byte) error {
		d, err := newBlockDecoder(hour, data, seed != "")
		if err != nil {
			// A block this binary cannot read (another format, damage):
			// its hour is read from the index and packed again.
			s.log.Warn("sample block unreadable; its hour is read from the index", "hour", hour, "err", err)
			return nil
		}
		served[hour-first] = true
		s.blocks.read.Add(1)
		if err := d.each(fn); err != nil {
			if errors.Is(err, errBlock) { // damaged past its header: the next scan rebuilds it
				s.dropBlock(hour)
				return fmt.Errorf("sqlstore: scan week: %w", err)
			}
			return err
		}
		return nil
	}); err != nil {
		return err
	}

	_, stored, err := s.packHours(ctx, first, served, seed, fn)
	if err != nil {
		return err
	}
	if stored != nil {
		// A cache: the scan's rows were right, and the next scan builds
		// the blocks again.
		s.log.Warn("sample blocks not stored", "err", stored)
	}
	for _, edge := range [][2]int64{{lo, first * hourMS}, {last * hourMS, hi}} {
		if edge[0] < edge[1] {
			if err := s.scanWeekChunks(ctx, fromMillis(edge[0]), fromMillis(edge[1]), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// packHours builds the blocks of the hours first+i that served leaves
// false, keyed under seed when it is set, handing their rows to fn, and
// stores them while it goes (startBlockWriter). It returns how many it
// built, the error of storing them apart (a cache's: the rows were
// right), and the error of reading them or fn's.
func (s *Store) packHours(ctx context.Context, first int64, served []bool, seed string, fn func(store.SampleRow) error) (built int, stored, err error) {
	var keyer *sampler.Keyer
	if seed != "" {
		keyer = sampler.NewKeyer([]byte(seed))
	}
	w := s.startBlockWriter(ctx, seedDigest(seed))
	defer w.abandon() // a failed scan's blocks are dropped
	for i, ok := range served {
		if ok {
			continue
		}
		b, err := s.buildBlock(ctx, first+int64(i), keyer, fn)
		if err != nil {
			return 0, nil, err
		}
		w.put(b)
		built++
	}
	return built, w.finish(), nil
}

// wholeHours returns the UTC hours [first, last) wholly inside the span
// of milliseconds [lo, hi), and whether there is one (blocks are kept for
// hours from the epoch on).
func wholeHours(lo, hi int64) (first, last int64, ok bool) {
	first, last = (lo+hourMS-1)/hourMS, hi/hourMS
	return first, last, lo >= 0 && first < last
}

// seedDigest is what a block keyed under seed records of it: the seed's
// SHA-256 (its public commitment); nil without a seed.
func seedDigest(seed string) []byte {
	if seed == "" {
		return nil
	}
	d := sha256.Sum256([]byte(seed))
	return d[:]
}

// dropBlock deletes hour's block, on its own: the scan that found it
// damaged goes on failing, but the next one rebuilds the hour.
func (s *Store) dropBlock(hour int64) {
	ctx, cancel := context.WithTimeout(context.Background(), blockWriteTimeout)
	defer cancel()
	if _, err := s.w.ExecContext(ctx, "DELETE FROM sample_blocks WHERE hour = ?", hour); err != nil {
		s.log.Warn("damaged sample block not deleted", "hour", hour, "err", err)
	}
}

// readBlocks calls fn with each valid block of hours [first, last), keyed
// under digest's seed when digest is set.
func (s *Store) readBlocks(ctx context.Context, first, last int64, digest []byte, fn func(hour int64, data []byte) error) error {
	query, args := validBlocksSQL("b.hour, b.data", first, last, digest)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlstore: scan week: blocks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			hour int64
			data sql.RawBytes // the driver's, valid until Next: decoding copies it
		)
		if err := rows.Scan(&hour, &data); err != nil {
			return fmt.Errorf("sqlstore: scan week: blocks: %w", err)
		}
		if err := fn(hour, data); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: scan week: blocks: %w", err)
	}
	return nil
}

// buildBlock reads hour from the index, hands its rows to fn (keyed by
// keyer when set) and returns its block.
func (s *Store) buildBlock(ctx context.Context, hour int64, keyer *sampler.Keyer, fn func(store.SampleRow) error) (builtBlock, error) {
	var (
		all     sql.NullString
		count   int64
		version sql.NullInt64
		rb      rowBuilder
	)
	span := []any{hour * hourMS, (hour + 1) * hourMS}
	if err := s.r.QueryRowContext(ctx, buildBlockSQL(), hour, span[0], span[1]).Scan(&all, &count, &version); err != nil {
		return builtBlock{}, fmt.Errorf("sqlstore: scan week: %w", err)
	}
	rows := make([]store.SampleRow, 0, count)
	if err := rb.chunk(all.String, count, span, func(r store.SampleRow) error {
		if keyer != nil {
			r.Key, r.Keyed = keyer.Key(r.ExternalID), true
		}
		rows = append(rows, r)
		return fn(r)
	}); err != nil {
		return builtBlock{}, err
	}
	enc := newBlockEncoder(hour, keyer != nil)
	for _, i := range groupedByAgent(rows) {
		enc.add(&rows[i], rows[i].Key)
	}
	s.blocks.built.Add(1)
	return builtBlock{hour: hour, version: version.Int64, rows: enc.rows, data: enc.bytes()}, nil
}

// groupedByAgent returns the indexes of rows with each (first) agent's
// rows together, agents in the order of their first row, rows in theirs:
// the sampler then finds an agent's state in cache for the rows after its
// first. A counting sort: sorting the rows themselves was a third of
// building a block.
func groupedByAgent(rows []store.SampleRow) []int32 {
	group := make(map[string]int32)
	of := make([]int32, len(rows))
	var starts []int32 // per group: its row count, then where its rows go
	for i := range rows {
		agent := ""
		if len(rows[i].AgentIDs) > 0 {
			agent = rows[i].AgentIDs[0]
		}
		g, ok := group[agent]
		if !ok {
			g = int32(len(starts))
			group[agent] = g
			starts = append(starts, 0)
		}
		of[i] = g
		starts[g]++
	}
	next := int32(0)
	for g, n := range starts {
		starts[g], next = next, next+n
	}
	order := make([]int32, len(rows))
	for i, g := range of {
		order[starts[g]] = int32(i)
		starts[g]++
	}
	return order
}

// blockWriterBatch is how many bytes of blocks go in one transaction: a
// week's blocks in a few commits, each short enough not to hold up ingest.
const blockWriterBatch = 8 << 20

// blockWriteTimeout bounds a write of blocks, which outlives its scan's
// context (see startBlockWriter).
const blockWriteTimeout = time.Minute

// blockWriter stores the blocks a scan built, while the scan goes on.
type blockWriter struct {
	in     chan builtBlock
	done   chan struct{}
	closed sync.Once
	stop   atomic.Bool
	err    error // the first failed write's, read after done
}

// startBlockWriter starts storing blocks keyed under digest's seed (none
// when nil) on the writer connection. The writes do not end with ctx, a
// request's: a client gone once its rows were read does not waste the
// blocks it paid for; each batch has blockWriteTimeout.
func (s *Store) startBlockWriter(ctx context.Context, digest []byte) *blockWriter {
	ctx = context.WithoutCancel(ctx)
	w := &blockWriter{in: make(chan builtBlock, 8), done: make(chan struct{})}
	if digest == nil {
		digest = []byte{}
	}
	go func() {
		defer close(w.done)
		var (
			batch []builtBlock
			size  int
		)
		flush := func() {
			if len(batch) > 0 && !w.stop.Load() {
				wctx, cancel := context.WithTimeout(ctx, blockWriteTimeout)
				if err := s.storeBlocks(wctx, digest, batch); err != nil && w.err == nil {
					w.err = err
				}
				cancel()
			}
			batch, size = batch[:0], 0
		}
		for b := range w.in {
			batch, size = append(batch, b), size+len(b.data)
			if size >= blockWriterBatch {
				flush()
			}
		}
		flush()
	}()
	return w
}

func (w *blockWriter) put(b builtBlock) { w.in <- b }

// finish stores what is left, waits for it and returns the first write's
// error. Calls after the first wait and return the same.
func (w *blockWriter) finish() error {
	w.closed.Do(func() { close(w.in) })
	<-w.done
	return w.err
}

// abandon drops what is not stored yet, when the scan failed (or panicked:
// it is deferred); after finish it does nothing.
func (w *blockWriter) abandon() {
	w.stop.Store(true)
	_ = w.finish()
}

// storeBlocks stores blocks in one transaction, each only if its hour's
// change count is still the one it was built at: a block of rows changed
// or deleted since its snapshot would never be read, but would keep their
// old fields on disk. A block replaces its hour's unless that one was
// built at a later count.
func (s *Store) storeBlocks(ctx context.Context, digest []byte, blocks []builtBlock) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, b := range blocks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sample_blocks (hour, version, seed_digest, rows, data)
				SELECT ?, ?, ?, ?, ? WHERE ? = coalesce((SELECT n FROM sample_hour_changes WHERE hour = ?), 0)
				ON CONFLICT (hour) DO UPDATE SET version = excluded.version, seed_digest = excluded.seed_digest, rows = excluded.rows, data = excluded.data
				WHERE excluded.version >= sample_blocks.version`, b.hour, b.version, digest, b.rows, b.data, b.version, b.hour); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.blocks.written.Add(int64(len(blocks)))
	return nil
}
