package server

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestLogLinesAreBounded logs 20 MB values every way the server does: as
// the message, a string, an error, a group member, a logger attribute and
// an arbitrary value. Each line stays short and says how long the value was.
func TestLogLinesAreBounded(t *testing.T) {
	huge := strings.Repeat("长", 7<<20) // 21 MB of 3-byte runes: cuts must respect them
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewJSONHandler(&buf, nil)
		if format == "text" {
			h = slog.NewTextHandler(&buf, nil)
		}
		log := slog.New(newLogHandler(h))
		log.Info(huge)
		log.Info("m", "value", huge)
		log.Info("m", "err", errors.New("bad week "+huge))
		log.Info("m", slog.Group("g", "value", huge))
		log.With("value", huge).Info("m")
		log.Info("m", "panic", []string{huge})
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 6 {
			t.Fatalf("%s: %d lines, want 6", format, len(lines))
		}
		for i, line := range lines {
			if len(line) > 2*maxLogString+300 {
				t.Errorf("%s line %d is %d bytes", format, i, len(line))
			}
			if !strings.Contains(line, "bytes)") {
				t.Errorf("%s line %d does not say how long the value was: %.400s", format, i, line)
			}
			if strings.Contains(line, "\\x") || strings.Contains(line, "\\ufffd") || strings.Contains(line, "\ufffd") {
				t.Errorf("%s line %d cut a rune: %.400s", format, i, line)
			}
		}
	}
	// Short values pass unchanged, with their types.
	var buf bytes.Buffer
	slog.New(newLogHandler(slog.NewJSONHandler(&buf, nil))).Info("ok", "n", 3, "err", errors.New("short"), "s", "x")
	if !strings.Contains(buf.String(), `"n":3,"err":"short","s":"x"`) {
		t.Errorf("short values changed: %s", buf.String())
	}
}

// TestStorageFailureLogCarriesRequestID breaks the store under a running
// server: the client is told to look up its x-request-id, and the log line
// with the cause must carry that id.
func TestStorageFailureLogCarriesRequestID(t *testing.T) {
	logs := &lockedBuffer{}
	env := startEnvLogging(t, DefaultConfig(), slog.New(slog.NewJSONHandler(logs, nil)))
	admin := env.as(store.RoleAdmin, "lead")
	c := qav1.NewIngestServiceClient(env.conn)
	// The first call caches the token, so the failure below is the
	// handler's, not the token check's.
	if _, err := c.GetTranscript(admin, &qav1.GetTranscriptRequest{ExternalId: "none"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetTranscript: %v", err)
	}
	// The server may be writing (start-up work, the feedback poll): wait
	// for it rather than fail on SQLITE_BUSY.
	db, err := sql.Open("sqlite", env.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec("ALTER TABLE transcripts RENAME TO transcripts_gone"); err != nil {
		t.Fatal(err)
	}

	var header metadata.MD
	_, err = c.GetTranscript(admin, &qav1.GetTranscriptRequest{ExternalId: "none"}, grpc.Header(&header))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "x-request-id") {
		t.Fatalf("got %v, want Unavailable pointing at x-request-id", err)
	}
	ids := header.Get("x-request-id")
	if len(ids) != 1 {
		t.Fatalf("x-request-id header: %v", ids)
	}
	if !logLineWith(logs.String(), `"msg":"store failure"`, fmt.Sprintf(`"request_id":%q`, ids[0]), "transcripts") {
		t.Errorf("no store failure log line with request id %s and the cause:\n%s", ids[0], logs.String())
	}
}
