package sqlstore

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// requireOwnerOnly fails unless the database file and its -wal and -shm
// companions exist and only their owner may read or write them.
func requireOwnerOnly(t *testing.T, path string) {
	t.Helper()
	for _, suffix := range sqliteFileSuffixes {
		info, err := os.Stat(path + suffix)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if mode := info.Mode().Perm(); mode != sqliteFileMode {
			t.Errorf("%s has mode %#o, want %#o", filepath.Base(path+suffix), mode, sqliteFileMode)
		}
	}
}

// TestSQLiteFilesOwnerOnly: a new database, its WAL and its shared-memory
// file hold chats and token hashes, so they are created owner-only
// whatever the umask allows.
func TestSQLiteFilesOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qa.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	// A write makes sure the WAL holds a frame, not only a header.
	if err := s.EnsureAgents(t.Context(), []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	requireOwnerOnly(t, path)
}

// TestSQLiteFilesTightened: files an older version left readable by others
// are restricted on open, and each change is logged.
func TestSQLiteFilesTightened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qa.db")
	first, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Close() }()
	if err := first.EnsureAgents(t.Context(), []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range sqliteFileSuffixes {
		if err := os.Chmod(path+suffix, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var logged bytes.Buffer
	second, err := Open(t.Context(), path, Options{Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = second.Close() }()
	requireOwnerOnly(t, path)
	for _, suffix := range sqliteFileSuffixes {
		if !strings.Contains(logged.String(), "file="+path+suffix+" ") {
			t.Errorf("no log line names %s:\n%s", path+suffix, logged.String())
		}
	}
	if _, err := second.GetAgent(t.Context(), "a1"); err != nil {
		t.Fatalf("data lost after tightening: %v", err)
	}
}
