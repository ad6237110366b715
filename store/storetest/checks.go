package storetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

var checkTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"CheckSets", testCheckSets},
	{"TranscriptChecks", testTranscriptChecks},
}

// testCheckSets: versions as policies have them, audited.
func testCheckSets(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.LatestCheckSet(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestCheckSet on an empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.GetCheckSet(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCheckSet(1) on an empty store: %v, want ErrNotFound", err)
	}
	docs := []string{`{"forbidden_phrases":["爱买不买"]}`, "{\n \"forbidden_phrases\": [\"愛買不買\"]\n}"}
	var added []store.CheckSetVersion
	for i, d := range docs {
		v, err := s.AddCheckSetVersion(ctx, []byte(d), "lead")
		if err != nil || v.Version != int64(i+1) || string(v.Document) != d || v.CreatedBy != "lead" || v.CreatedAt.IsZero() {
			t.Fatalf("AddCheckSetVersion %d = %+v, %v", i, v, err)
		}
		added = append(added, v)
	}
	for _, v := range added {
		got, err := s.GetCheckSet(ctx, v.Version)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("GetCheckSet(%d) = %+v, %v; want %+v", v.Version, got, err, v)
		}
	}
	if v, err := s.AddCheckSetVersion(ctx, []byte(docs[1]), "someone"); err != nil || !reflect.DeepEqual(v, added[1]) {
		t.Errorf("saving the latest again = %+v, %v; want version 2 as stored", v, err)
	}
	if latest, err := s.LatestCheckSet(ctx); err != nil || !reflect.DeepEqual(latest, added[1]) {
		t.Errorf("LatestCheckSet = %+v, %v", latest, err)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{Action: "checks.create"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Entity != "check_set" || !strings.Contains(events[1].Detail, "愛買不買") {
		t.Errorf("audit events %+v", events)
	}
}

// testTranscriptChecks: a transcript's check results round-trip, are
// replaced by an update, and the week scan reads their flags on request.
func testTranscriptChecks(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	flagged := prepare(ending("flagged", "a1", weekFrom.Add(time.Hour)))
	flagged.Checks = transcript.Checks{Version: 3, Flags: 0b10100, Hits: []transcript.CheckHit{
		{Check: "no_greeting", Message: 1},
		{Check: "forbidden_phrase", Message: 3, Matched: "愛買不買", Phrase: "爱买不买"},
		{Check: "slow_reply", Message: 3, WaitMS: 95000, LimitMS: 60000},
	}}
	clean := prepare(ending("clean", "a1", weekFrom.Add(2*time.Hour)))
	clean.Checks = transcript.Checks{Version: 3}
	unchecked := prepare(ending("unchecked", "a1", weekFrom.Add(3*time.Hour)))
	upsert(t, s, flagged, clean, unchecked)

	for _, p := range []*transcript.Prepared{flagged, clean, unchecked} {
		got, err := s.GetTranscript(t.Context(), p.ExternalID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Checks, p.Checks) {
			t.Errorf("%s Checks = %+v, want %+v", p.ExternalID, got.Checks, p.Checks)
		}
	}

	scan := func(opts store.ScanOptions) map[string]uint64 {
		out := map[string]uint64{}
		if err := s.ScanWeek(t.Context(), weekFrom, weekTo, opts, func(r store.SampleRow) error {
			out[r.ExternalID] = r.CheckFlags
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := scan(store.ScanOptions{CheckFlags: true}); !reflect.DeepEqual(got, map[string]uint64{"flagged": 0b10100, "clean": 0, "unchecked": 0}) {
		t.Errorf("scan with CheckFlags: %v", got)
	}
	if got := scan(store.ScanOptions{}); got["flagged"] != 0 {
		t.Errorf("scan without CheckFlags read flags %b", got["flagged"])
	}

	// A changed push replaces the results; the same push twice is
	// unchanged even if computed by a newer check set.
	changed := ending("flagged", "a1", weekFrom.Add(time.Hour))
	changed.Messages[1].Text += "。"
	update := prepare(changed)
	update.Checks = transcript.Checks{Version: 4, Flags: 1, Hits: []transcript.CheckHit{{Check: "slow_first_response", Message: 1, WaitMS: 40000, LimitMS: 30000}}}
	again := prepare(ending("clean", "a1", weekFrom.Add(2*time.Hour)))
	again.Checks = transcript.Checks{Version: 4, Flags: 1}
	if out := upsert(t, s, update, again); out[0] != store.Updated || out[1] != store.Unchanged {
		t.Fatalf("outcomes %v", out)
	}
	if got, _ := s.GetTranscript(t.Context(), "flagged"); !reflect.DeepEqual(got.Checks, update.Checks) {
		t.Errorf("updated Checks = %+v, want %+v", got.Checks, update.Checks)
	}
	if got, _ := s.GetTranscript(t.Context(), "clean"); !reflect.DeepEqual(got.Checks, clean.Checks) {
		t.Errorf("unchanged push rewrote Checks: %+v", got.Checks)
	}
}
