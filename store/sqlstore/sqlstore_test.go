package sqlstore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/store/storetest"
	"qa-sampling/transcript"
)

const pgEnv = "QA_TEST_POSTGRES_DSN"

func newSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "qa.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pgSchemaDSN creates a schema of its own for one test and returns a DSN
// whose search_path points into it; the schema is dropped on cleanup.
func pgSchemaDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s, e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable", pgEnv, pgEnv)
	}
	admin, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	b := make([]byte, 6)
	_, _ = crand.Read(b)
	schema := "qa_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", pgEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func newPostgres(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgSchemaDSN(t), Options{AutoMigrate: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return newSQLite(t) })
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	if os.Getenv(pgEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: set %s", pgEnv)
	}
	storetest.Run(t, func(t *testing.T) store.Store { return newPostgres(t) })
}

func TestIsPostgres(t *testing.T) {
	cases := map[string]bool{
		"postgres://u@h/db":               true,
		"postgresql://u@h/db?sslmode=off": true,
		"host=localhost dbname=qa":        true,
		"qa.db":                           false,
		"/var/lib/qa/qa.db":               false,
		"./postgres.db":                   false,
	}
	for dsn, want := range cases {
		if got := IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestSQLiteRejectsURIs(t *testing.T) {
	for _, dsn := range []string{"", ":memory:", "file:qa.db", filepath.Join(t.TempDir(), "qa.db") + "?mode=ro"} {
		if s, err := Open(t.Context(), dsn, Options{}); err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded; want an error asking for a plain path", dsn)
		}
	}
}

// TestSQLiteSettings checks the pragmas the durability and concurrency
// story rests on, on both pools.
func TestSQLiteSettings(t *testing.T) {
	s := newSQLite(t)
	ctx := t.Context()
	for _, c := range []struct {
		db     *sqlx.DB
		pragma string
		want   string
	}{
		{s.w, "journal_mode", "wal"},
		{s.w, "synchronous", "2"}, // FULL
		{s.w, "foreign_keys", "1"},
		{s.w, "busy_timeout", "10000"},
		{s.w, "page_size", "16384"},
		{s.r, "journal_mode", "wal"},
		{s.r, "query_only", "1"},
		{s.r, "busy_timeout", "10000"},
	} {
		var got string
		if err := c.db.GetContext(ctx, &got, "PRAGMA "+c.pragma); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %q, want %q", c.pragma, got, c.want)
		}
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool max connections = %d, want 1", got)
	}
}

// TestSQLiteReopen checks that data survives Close and that opening a
// migrated file again does not migrate twice.
func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qa.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.GetAgent(ctx, "a1"); err != nil {
		t.Fatalf("agent lost across reopen: %v", err)
	}
	cur, req, err := s.SchemaVersion(ctx)
	if err != nil || cur != req || req < 1 {
		t.Fatalf("SchemaVersion = %d, %d, %v", cur, req, err)
	}
}

func TestPostgresSchemaOutdated(t *testing.T) {
	t.Parallel()
	dsn := pgSchemaDSN(t)
	ctx := t.Context()
	s, err := Open(ctx, dsn, Options{AutoMigrate: false})
	if err != nil {
		t.Fatalf("Open without migrating: %v", err)
	}
	defer func() { _ = s.Close() }()
	if err := s.Ready(ctx); !errors.Is(err, store.ErrSchemaOutdated) {
		t.Fatalf("Ready on an empty schema = %v, want ErrSchemaOutdated", err)
	}
	cur, req, err := s.SchemaVersion(ctx)
	if err != nil || cur != 0 || req < 1 {
		t.Fatalf("SchemaVersion = %d, %d, %v; want 0, >=1, nil", cur, req, err)
	}
	// The checks must not have created goose's table behind our back.
	var exists bool
	if err := s.r.GetContext(ctx, &exists, "SELECT to_regclass($1) IS NOT NULL", versionTable); err != nil || exists {
		t.Fatalf("version table exists = %v (%v) after read-only checks", exists, err)
	}

	// Two replicas migrating at once: the advisory lock serialises them.
	other, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	errs := make(chan error, 2)
	for _, st := range []*Store{s, other} {
		go func() { errs <- st.Migrate(ctx) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready after Migrate: %v", err)
	}
	cur, req, err = s.SchemaVersion(ctx)
	if err != nil || cur != req {
		t.Fatalf("SchemaVersion after Migrate = %d, %d, %v", cur, req, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate when current: %v", err)
	}
}

// TestPostgresBodyStorage checks the body column is not recompressed.
func TestPostgresBodyStorage(t *testing.T) {
	t.Parallel()
	s := newPostgres(t)
	var storage string
	err := s.r.GetContext(t.Context(), &storage, `SELECT a.attstorage::text FROM pg_attribute a
		WHERE a.attrelid = to_regclass('transcripts') AND a.attname = 'body'`)
	if err != nil {
		t.Fatal(err)
	}
	if storage != "e" {
		t.Errorf("body attstorage = %q, want e (EXTERNAL)", storage)
	}
}

func TestRequiredVersion(t *testing.T) {
	v, err := requiredVersion()
	if err != nil || v < 1 {
		t.Fatalf("requiredVersion = %d, %v", v, err)
	}
}

func TestUpsertSQL(t *testing.T) {
	q := upsertSQL(dialectPostgres, 2)
	// $1 is the shared time; each row binds insertColumnCount values after it.
	last := 1 + 2*insertColumnCount
	if !strings.Contains(q, "($2, ") || !strings.Contains(q, fmt.Sprintf("$%d, 1, FALSE, $1, $1)", last)) || strings.Contains(q, fmt.Sprintf("$%d", last+1)) {
		t.Errorf("unexpected PostgreSQL placeholders in %s", q)
	}
	q = upsertSQL(dialectSQLite, 2)
	if n := strings.Count(q, "?"); n != 2*(insertColumnCount+2) || strings.Contains(q, "$") {
		t.Errorf("SQLite upsert of 2 rows has %d ? placeholders, want %d: %s", n, 2*(insertColumnCount+2), q)
	}
}

// TestSQLiteDictionaryBodies checks that Options.Codec decodes bodies
// compressed with a dictionary, which the plain decoder cannot.
func TestSQLiteDictionaryBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	plain := transcript.NewCodec()
	var samples [][]byte
	for i := range 300 {
		payload, err := plain.Payload(plain.Prepare(synth.Transcript(rng, i, "a1", end)).Body)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, payload)
	}
	d, err := transcript.TrainDictionary(7, samples)
	if err != nil {
		t.Fatal(err)
	}
	codec := transcript.NewCodec()
	if err := codec.Install([]transcript.Dictionary{d}, d.ID); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "qa.db")
	s, err := Open(t.Context(), path, Options{Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := s.EnsureAgents(t.Context(), []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	p := codec.Prepare(synth.Transcript(rng, 1000, "a1", end))
	if _, err := s.UpsertTranscripts(t.Context(), []*transcript.Prepared{p}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTranscript(t.Context(), p.ExternalID)
	if err != nil {
		t.Fatalf("GetTranscript with the dictionary codec: %v", err)
	}
	if !reflect.DeepEqual(got.Messages, p.Messages) || !reflect.DeepEqual(got.Attributes, p.Attributes) {
		t.Error("dictionary body did not round-trip")
	}

	// Without the dictionary the body is unreadable, and says why.
	other, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	if _, err := other.GetTranscript(t.Context(), p.ExternalID); !errors.Is(err, transcript.ErrUnknownDictionary) {
		t.Errorf("GetTranscript without the dictionary: %v, want ErrUnknownDictionary", err)
	}
}
