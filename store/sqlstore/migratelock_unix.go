//go:build unix

package sqlstore

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockMigrations serialises SQLite migrations across processes (goose has
// no lock for SQLite): two processes opening a new file at once, such as
// `qad token create` beside a starting `qad serve`, would otherwise both
// apply version 1 and one fail on "table already exists". The lock is a
// flock of the file's directory, not of the file: closing any descriptor
// of the database file would drop the POSIX locks SQLite holds on it.
func lockMigrations(path string) (unlock func(), err error) {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock for migrations: %w", err)
	}
	if err := syscall.Flock(int(dir.Fd()), syscall.LOCK_EX); err != nil {
		_ = dir.Close()
		return nil, fmt.Errorf("sqlstore: lock for migrations: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(dir.Fd()), syscall.LOCK_UN)
		_ = dir.Close()
	}, nil
}
