package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// sqliteFileMode is the mode of the database file and its -wal and -shm
// companions: they hold chats and token hashes, so only the owner may read
// them. SQLite creates -wal and -shm with the main file's mode, so creating
// the main file owner-only covers all three.
const sqliteFileMode fs.FileMode = 0o600

// sqliteFileSuffixes name the database file and the companions SQLite keeps
// beside it in WAL mode.
var sqliteFileSuffixes = []string{"", "-wal", "-shm"}

// restrictSQLiteFiles creates the database file owner-only if it is missing
// and tightens the mode of any existing database, -wal or -shm file that
// others could read or write, logging each file it tightens.
func restrictSQLiteFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("sqlstore: create %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("sqlstore: create %s: %w", path, err)
	}
	for _, suffix := range sqliteFileSuffixes {
		name := path + suffix
		info, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
		mode := info.Mode().Perm()
		if mode&^sqliteFileMode == 0 {
			continue
		}
		if err := os.Chmod(name, mode&sqliteFileMode); err != nil {
			return fmt.Errorf("sqlstore: restrict %s to its owner: %w", name, err)
		}
		log.Warn("database file was readable by others; restricted it to its owner",
			"file", name, "was", fmt.Sprintf("%#o", mode), "now", fmt.Sprintf("%#o", mode&sqliteFileMode))
	}
	return nil
}
