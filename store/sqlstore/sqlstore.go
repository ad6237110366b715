package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers "sqlite"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

func init() {
	// sqlx knows modernc's driver name only under mattn's "sqlite3".
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Options tune Open.
type Options struct {
	// AutoMigrate applies pending migrations on Open (PostgreSQL). SQLite
	// always migrates on Open: it is embedded in one process, so there is
	// no other binary that could still need the old schema.
	AutoMigrate bool
	// Codec decodes stored bodies. Open installs every stored dictionary in
	// it (the newest for encoding); nil means a new codec (see Store.Codec).
	Codec *transcript.Codec
	// Log receives what Open repairs, such as a SQLite file's mode; nil
	// discards it.
	Log *slog.Logger
}

type dialect int

const (
	dialectSQLite dialect = iota + 1
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// Store is a store.Store on SQLite or PostgreSQL.
type Store struct {
	dialect dialect
	// w takes every write. On SQLite it holds one connection, since SQLite
	// admits one writer at a time and waiting in Go is cheaper than
	// waiting on the file lock; on PostgreSQL w and r are the same pool.
	w *sqlx.DB
	// r serves reads; on SQLite several WAL readers run beside the writer.
	r *sqlx.DB
	// path is the SQLite file, for SizeOnDisk.
	path string
	// lockID is the PostgreSQL advisory lock serialising migrations of
	// this schema across replicas.
	lockID int64
	// schema is the PostgreSQL schema, which scopes the run claims' locks.
	schema string
	// runClaims are the claimed runs on SQLite (runclaim.go).
	runClaims runClaims
	// required is the newest migration version this binary carries.
	required int64
	// schemaOK caches a successful schema check: versions only go up, so
	// Ready need not query the version table on every probe.
	schemaOK atomic.Bool
	codec    *transcript.Codec
	now      func() time.Time
	// log receives what the store repairs on its own (Options.Log).
	log *slog.Logger
	// fin group-commits FinalizeReview (finalize.go).
	fin finalizer
	// stmts are the statements prepared once (SQLite).
	stmts stmtCache
	// blocks count the weekly scans' hour blocks (SQLite, blockscan.go).
	blocks blockCounters
}

// Store is a whole backend: every capability of the contract.
var _ store.Store = (*Store)(nil)

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=")
}

// Open connects to the database named by dsn: a postgres:// or
// postgresql:// URL or a key=value string with host= is PostgreSQL,
// anything else is a SQLite file path (created if missing).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{codec: opts.Codec, now: time.Now, log: opts.Log}
	if s.codec == nil {
		s.codec = transcript.NewCodec()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	s.required, err = requiredVersion()
	if err != nil {
		return nil, err
	}
	if IsPostgres(dsn) {
		s.dialect = dialectPostgres
		err = s.openPostgres(ctx, dsn, opts)
	} else {
		s.dialect = dialectSQLite
		err = s.openSQLite(ctx, dsn, opts.Log)
	}
	if err == nil && s.Ready(ctx) == nil { // an outdated schema may lack the table
		err = s.loadDictionaries(ctx)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// sqlitePragmas apply to every connection. busy_timeout covers another
// process (qad token, a backup) holding the lock; synchronous=FULL makes a
// commit survive power loss, not only a crash of this process.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"

// sqliteWritePragmas: transactions take the write lock at BEGIN, so that a
// transaction never fails half-way on upgrading a read lock; 64 MiB of
// page cache keeps the two transcript indexes of a million rows in memory,
// so that inserts of external ids arriving in random order do not read
// index pages back from disk.
const sqliteWritePragmas = "_txlock=immediate&_pragma=cache_size(-65536)"

// sqliteReadPragmas: readers can never write by mistake.
const sqliteReadPragmas = "_pragma=query_only(1)&_pragma=cache_size(-16384)"

func (s *Store) openSQLite(ctx context.Context, path string, log *slog.Logger) error {
	switch {
	case path == "":
		return errors.New("sqlstore: empty database path")
	case path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?"):
		// The read pool opens the file again, so an in-memory database or
		// a URI with its own parameters cannot work.
		return fmt.Errorf("sqlstore: %q: give a plain SQLite file path", path)
	}
	s.path = path
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := restrictSQLiteFiles(path, log); err != nil {
		return err
	}
	// Setting up a new file and migrating it take locks SQLite's busy
	// timeout does not wait for, so processes opening one file at once
	// take turns (lockMigrations).
	unlock, err := lockMigrations(path)
	if err != nil {
		return err
	}
	defer unlock()
	if err := initSQLiteFile(ctx, path); err != nil {
		return err
	}
	w, err := sqlx.Open("sqlite", path+"?"+sqlitePragmas+"&"+sqliteWritePragmas)
	if err != nil {
		return fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	s.w = w
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// SQLite migrates on every Open: one process owns the file, so no
	// older binary can still depend on the old schema.
	if err := s.migrate(ctx); err != nil {
		return err
	}
	r, err := sqlx.Open("sqlite", path+"?"+sqlitePragmas+"&"+sqliteReadPragmas)
	if err != nil {
		return fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	s.r = r
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	return nil
}

// sqlitePageSize suits transcript rows of about 2 KB: a 4 KiB page holds
// one or two of them and wastes the rest (3.06 KB a row on disk measured
// with cmd/storebench), a 16 KiB page holds seven or eight (2.28 KB a row).
// Larger pages saved only 4% more and wrote more slowly.
const sqlitePageSize = 16384

// initSQLiteFile sets the page size of a new database file and switches it
// to WAL. Both are properties of the file, not of a connection, and the
// page size can only be set before the file switches to WAL: the
// connection DSN cannot do it, because its journal_mode pragma runs first.
// On an existing file this changes nothing.
func initSQLiteFile(ctx context.Context, path string) error {
	db, err := sqlx.Open("sqlite", fmt.Sprintf("%s?_pragma=busy_timeout(10000)&_pragma=page_size(%d)", path, sqlitePageSize))
	if err != nil {
		return fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		_ = db.Close()
		return fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	return db.Close()
}

func (s *Store) openPostgres(ctx context.Context, dsn string, opts Options) error {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	s.w, s.r = db, db
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	var schema string
	if err := db.GetContext(ctx, &schema, "SELECT current_schema()"); err != nil {
		return fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	s.lockID, s.schema = migrationLockID(schema), schema
	if opts.AutoMigrate {
		return s.Migrate(ctx)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	s.stopFinalizer()
	errs := []error{s.closeStatements()}
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Ready reports whether the database answers and its schema is current;
// the error wraps store.ErrSchemaOutdated when migrations are pending.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping %s: %w", s.dialect, err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping %s readers: %w", s.dialect, err)
		}
	}
	if s.schemaOK.Load() {
		return nil
	}
	current, required, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current < required {
		return fmt.Errorf("sqlstore: schema version %d, need %d: %w", current, required, store.ErrSchemaOutdated)
	}
	s.schemaOK.Store(true)
	return nil
}

// SizeOnDisk returns the bytes the store occupies: on SQLite the database
// file and its WAL after a checkpoint, on PostgreSQL the tables with their
// indexes and TOAST.
func (s *Store) SizeOnDisk(ctx context.Context) (int64, error) {
	if s.dialect == dialectPostgres {
		var n int64
		err := s.r.GetContext(ctx, &n, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT
			FROM pg_class c
			WHERE c.oid IN (to_regclass('agents'), to_regclass('transcripts'), to_regclass('transcript_agents'), to_regclass('tokens'))`)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: size on disk: %w", err)
		}
		return n, nil
	}
	// TRUNCATE copies the WAL into the database and empties it, so the
	// figure does not depend on when the last automatic checkpoint ran.
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return 0, fmt.Errorf("sqlstore: checkpoint: %w", err)
	}
	var total int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("sqlstore: size on disk: %w", err)
		}
		total += fi.Size()
	}
	return total, nil
}
