package sqlstore

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// TestMigrationBackfillsOwnerWrote upgrades a database whose transfers
// were stored before owner_wrote existed (version 7) and checks that each
// then counts for the agents who wrote in it only: the backfill decodes
// the bodies, dictionary-compressed ones with the dictionary from the
// database, in several batches; a body it cannot decode keeps counting
// for its owner as before.
func TestMigrationBackfillsOwnerWrote(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "qa.db")
		testOwnerWroteBackfill(t, path, Options{})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testOwnerWroteBackfill(t, pgSchemaDSN(t), Options{AutoMigrate: true})
	})
}

func testOwnerWroteBackfill(t *testing.T, dsn string, opts Options) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(5, 6))
	var samples [][]byte
	for i := range 300 {
		payload, err := transcript.NewCodec().Payload(transcript.Prepare(synth.Transcript(rng, i, "a1", benchWeek)).Body)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, payload)
	}
	dict, err := transcript.TrainDictionary(9, samples)
	if err != nil {
		t.Fatal(err)
	}
	codec := transcript.NewCodec()
	if err := codec.Install([]transcript.Dictionary{dict}, dict.ID); err != nil {
		t.Fatal(err)
	}
	old, err := Open(ctx, dsn, Options{AutoMigrate: opts.AutoMigrate, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = old.Close() }()
	if err := old.AddDictionary(ctx, dict); err != nil {
		t.Fatal(err)
	}
	if err := old.EnsureAgents(ctx, []string{"a1", "a2", "a3"}); err != nil {
		t.Fatal(err)
	}
	mk := func(id string, writers ...string) *transcript.Prepared {
		tr := transcript.Transcript{ExternalID: id, AgentID: "a1", Channel: "web",
			StartedAt: benchWeek.Add(time.Hour), EndedAt: benchWeek.Add(2 * time.Hour),
			Messages: []transcript.Message{{Role: transcript.RoleCustomer, Text: "在吗", SentAt: benchWeek.Add(time.Hour)}}}
		for i, w := range writers {
			tr.Messages = append(tr.Messages, transcript.Message{Role: transcript.RoleAgent, AgentID: w, Text: "您好",
				SentAt: benchWeek.Add(time.Hour + time.Duration(i+1)*time.Minute)})
		}
		return codec.Prepare(tr)
	}
	batch := []*transcript.Prepared{
		mk("own", ""), mk("both", "a2", "a1"), mk("handed", "a2"), mk("two-others", "a3", "a2"),
		mk("silent"), mk("corrupt", "a2"),
	}
	want := map[string][]string{
		"own": {"a1"}, "both": {"a1", "a2"}, "handed": {"a2"}, "two-others": {"a2", "a3"},
		"silent": {"a1"}, "corrupt": {"a1", "a2"},
	}
	// More than one batch of the backfill.
	for i := range backfillBatch + 20 {
		id := fmt.Sprintf("bulk-%04d", i)
		batch = append(batch, mk(id, "a3"))
		want[id] = []string{"a3"}
	}
	if _, err := old.UpsertTranscripts(ctx, batch); err != nil {
		t.Fatal(err)
	}

	// Back to the schema before owner_wrote, which holds what the
	// binaries before it wrote; then one of them corrupts a body.
	p, err := old.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatalf("migrate down to 7: %v", err)
	}
	if _, err := old.w.ExecContext(ctx, old.w.Rebind("UPDATE transcripts SET body = ? WHERE external_id = ?"), []byte{1, 0xff}, "corrupt"); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	// A binary with a codec that knows no dictionary opens (and
	// migrates) it.
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("Open after the upgrade: %v", err)
	}
	defer func() { _ = s.Close() }()
	got := map[string][]string{}
	err = s.ScanWeek(ctx, benchWeek, benchWeek.AddDate(0, 0, 7), store.ScanOptions{}, func(r store.SampleRow) error {
		got[r.ExternalID] = r.AgentIDs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		for id, w := range want {
			if !reflect.DeepEqual(got[id], w) {
				t.Errorf("after the upgrade %s counts for %q, want %q", id, got[id], w)
			}
		}
	}
	if st, err := s.GetTranscript(ctx, "handed"); err != nil || !reflect.DeepEqual(st.AgentIDs, []string{"a2"}) {
		t.Errorf("GetTranscript(handed) AgentIDs = %q, %v; want [a2]", st.AgentIDs, err)
	}
	var pending int
	if err := s.r.GetContext(ctx, &pending, "SELECT COUNT(*) FROM owner_wrote_pending"); err != nil || pending != 0 {
		t.Errorf("owner_wrote_pending holds %d rows after the backfill (%v), want 0", pending, err)
	}
}
