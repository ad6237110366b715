package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	_ "modernc.org/sqlite" // the driver the store uses

	"qa-sampling/internal/importfile"
)

// runNaive is the baseline a backfill is judged against (LIMITS.md,
// "naive ingest"): each line of a transcript JSONL parsed and inserted
// as it comes into a plain SQLite table keyed by the external id, with an
// (agent, end time) index, one prepared INSERT a row and 1000 rows a
// transaction, WAL with synchronous=NORMAL. No validation, derivation,
// compression or idempotency: what a quick import script does.
func runNaive(ctx context.Context, dbPath, jsonl string, out io.Writer) error {
	if _, err := os.Stat(dbPath); err == nil {
		return fmt.Errorf("%s exists; give a new file", dbPath)
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE chats (external_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL,
		ended_at TEXT NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;
		CREATE INDEX chats_agent ON chats (agent_id, ended_at)`); err != nil {
		return err
	}
	f, err := os.Open(jsonl)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	start := time.Now()
	n := 0
	var tx *sql.Tx
	var stmt *sql.Stmt
	commit := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx, stmt = nil, nil
		return err
	}
	for sc.Scan() {
		if tx == nil {
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return err
			}
			//nolint:sqlclosecheck // bound to tx: closed by its commit
			if stmt, err = tx.PrepareContext(ctx, "INSERT INTO chats (external_id, agent_id, ended_at, doc) VALUES (?, ?, ?, ?)"); err != nil {
				return err
			}
		}
		var r importfile.TranscriptRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
		if _, err := stmt.ExecContext(ctx, r.ExternalID, r.AgentID, r.EndedAt, sc.Text()); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
		n++
		if n%1000 == 0 {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := commit(); err != nil {
		return err
	}
	took := time.Since(start)
	printf(out, "naive insert: %d rows: %.0f rows/s in %.1f s\n", n, float64(n)/took.Seconds(), took.Seconds())
	return nil
}
