package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// versionTable is goose's bookkeeping table, named here because
// SchemaVersion reads it directly (see dbVersion).
const versionTable = "goose_db_version"

func (d dialect) migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations/"+d.String())
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// requiredVersion is the newest migration version, which must agree between
// the dialects: one binary needs one schema version whatever the database.
func requiredVersion() (int64, error) {
	var versions [2]int64
	for i, d := range []dialect{dialectSQLite, dialectPostgres} {
		names, err := fs.Glob(d.migrations(), "*.sql")
		if err != nil {
			return 0, err
		}
		for _, name := range names {
			prefix, _, _ := strings.Cut(path.Base(name), "_")
			v, err := strconv.ParseInt(prefix, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("sqlstore: migration %s: no version prefix", name)
			}
			versions[i] = max(versions[i], v)
		}
	}
	if versions[0] != versions[1] {
		return 0, fmt.Errorf("sqlstore: sqlite migrations end at %d but postgres at %d", versions[0], versions[1])
	}
	return versions[0], nil
}

// migrationLockID derives the advisory lock from the schema so that
// replicas migrating one schema wait for each other while different schemas
// (the parallel tests) do not.
func migrationLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("qa-sampling/migrate/" + schema))
	return int64(h.Sum64() >> 1)
}

func (s *Store) provider() (*goose.Provider, error) {
	opts := []goose.ProviderOption{
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
		// Migration numbers are assigned to features ahead of time and land
		// in any order (00015 before 00013): a database migrated by an
		// earlier build applies a lower number it lacks instead of refusing.
		goose.WithAllowOutofOrder(true),
	}
	d := goose.DialectSQLite3
	if s.dialect == dialectPostgres {
		d = goose.DialectPostgres
		// Polls every second for up to 5 minutes while another replica
		// migrates.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(s.lockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(d, s.w.DB, s.dialect.migrations(), opts...)
}

// Migrate applies the pending migrations. Concurrent callers are
// serialised: on PostgreSQL by an advisory lock, on SQLite by a file lock
// (lockMigrations).
func (s *Store) Migrate(ctx context.Context) error {
	if s.dialect == dialectSQLite {
		unlock, err := lockMigrations(s.path)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return s.migrate(ctx)
}

// migrate is Migrate for a caller that holds the SQLite migration lock.
func (s *Store) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	err = withRetry(ctx, s.dialect, func() error {
		_, err := p.Up(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", s.dialect, err)
	}
	// Data a migration could not compute in SQL.
	return s.backfillOwnerWrote(ctx)
}

// SchemaVersion returns the version the database is at (0 before the first
// migration) and the version this binary needs.
func (s *Store) SchemaVersion(ctx context.Context) (current, required int64, err error) {
	current, err = s.dbVersion(ctx)
	if err != nil {
		return 0, s.required, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return current, s.required, nil
}

// dbVersion reads goose's table itself rather than through a goose
// Provider, because the Provider creates the table when it is missing and a
// readiness probe or `qad migrate --status` must not write.
func (s *Store) dbVersion(ctx context.Context) (int64, error) {
	var exists bool
	var err error
	if s.dialect == dialectPostgres {
		err = s.r.GetContext(ctx, &exists, "SELECT to_regclass($1) IS NOT NULL", versionTable)
	} else {
		err = s.r.GetContext(ctx, &exists, "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?", versionTable)
	}
	if err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int64
	err = s.r.GetContext(ctx, &v, "SELECT COALESCE(MAX(version_id), 0) FROM "+versionTable)
	return v, err
}
