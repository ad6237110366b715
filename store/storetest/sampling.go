package storetest

import (
	"fmt"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// samplingTests cover InspectorStore, PolicyStore, RunStore and PickStore
// (tests in the files of those names); Run adds them to its list.
var samplingTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Inspectors", testInspectors},
	{"Policies", testPolicies},
	{"PoliciesConcurrent", testPoliciesConcurrent},
	{"WeekSeed", testWeekSeed},
	{"ScanWeekBoundaries", testScanWeekBoundaries},
	{"ScanWeekFields", testScanWeekFields},
	{"ScanWeekSecondaryAuthors", testScanWeekSecondaryAuthors},
	{"ScanWeekStops", testScanWeekStops},
	{"ScanWeekOptions", testScanWeekOptions},
	{"ScanWeekKeySeed", testScanWeekKeySeed},
	{"CreateRunIdempotent", testCreateRunIdempotent},
	{"CreateRunConcurrent", testCreateRunConcurrent},
	{"RunDisagreement", testRunDisagreement},
	{"CompleteRun", testCompleteRun},
	{"CompleteRunAtomic", testCompleteRunAtomic},
	{"CompleteRunConcurrent", testCompleteRunConcurrent},
	{"ClaimRun", testClaimRun},
	{"ClaimRunConcurrent", testClaimRunConcurrent},
	{"PickedOncePerAgentAcrossRuns", testPickedOncePerAgent},
	{"PickedInWeek", testPickedInWeek},
	{"PickedTranscriptsSharingAnEndTime", testPickedSharingAnEndTime},
	{"ListPicksFilters", testListPicksFilters},
	{"ListPicksPaging", testListPicksPaging},
	{"InspectorLoads", testInspectorLoads},
	{"RecentInspectorsOf", testRecentInspectorsOf},
	{"UpdatePick", testUpdatePick},
	{"UpdatePickConcurrent", testUpdatePickConcurrent},
	{"AddPick", testAddPick},
}

// week is the sampled range of these tests: ISO 2026-W47 in UTC.
var (
	weekFrom = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	weekTo   = weekFrom.AddDate(0, 0, 7)
)

// ending is conversation(id, agentID) moved to end at end.
func ending(id, agentID string, end time.Time) transcript.Transcript {
	tr := conversation(id, agentID)
	d := end.Sub(tr.EndedAt)
	tr.StartedAt, tr.EndedAt = tr.StartedAt.Add(d), tr.EndedAt.Add(d)
	for i := range tr.Messages {
		tr.Messages[i].SentAt = tr.Messages[i].SentAt.Add(d)
	}
	return tr
}

// inWeek upserts, for each id, a conversation of agentID ending inside the
// week, and returns them prepared.
func inWeek(t *testing.T, s store.Store, agentID string, ids ...string) []*transcript.Prepared {
	t.Helper()
	var out []*transcript.Prepared
	for i, id := range ids {
		out = append(out, prepare(ending(id, agentID, weekFrom.Add(time.Duration(i+1)*time.Hour))))
	}
	upsert(t, s, out...)
	return out
}

func mustInspectors(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.UpsertInspector(t.Context(), store.Inspector{ID: id, Name: "Inspector " + id, Active: true}, "admin"); err != nil {
			t.Fatalf("UpsertInspector(%s): %v", id, err)
		}
	}
}

func mustRun(t *testing.T, s store.Store, week string, version int64) store.Run {
	t.Helper()
	r, _, err := s.CreateRun(t.Context(), store.Run{Week: week, PolicyVersion: version, Seed: []byte("seed-" + week), Trigger: "schedule"})
	if err != nil {
		t.Fatalf("CreateRun(%s, %d): %v", week, version, err)
	}
	return r
}

func mustComplete(t *testing.T, s store.Store, runID int64, picks ...store.Pick) store.Run {
	t.Helper()
	r, err := s.CompleteRun(t.Context(), runID, picks, 0)
	if err != nil {
		t.Fatalf("CompleteRun(%d): %v", runID, err)
	}
	return r
}

func pick(ext, agentID, reason string, rank int, inspector string) store.Pick {
	p := store.Pick{ExternalID: ext, AgentID: agentID, Reason: reason, Rank: rank, Key: uint64(rank)*1_000_003 + 17, InspectorID: inspector, Status: store.PickAssigned}
	if inspector == "" {
		p.Status = store.PickPool
	}
	return p
}

func listPicks(t *testing.T, s store.Store, f store.PickFilter) []store.Pick {
	t.Helper()
	got, err := s.ListPicks(t.Context(), f)
	if err != nil {
		t.Fatalf("ListPicks(%+v): %v", f, err)
	}
	return got
}

// pickIdentity is what the caller decides of a pick.
func pickIdentity(p store.Pick) string {
	return fmt.Sprintf("%s/%s %s #%d key=%d insp=%q %s skip=%q repl=%d",
		p.ExternalID, p.AgentID, p.Reason, p.Rank, p.Key, p.InspectorID, p.Status, p.SkipReason, p.ReplacesID)
}

func identities(ps []store.Pick) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = pickIdentity(p)
	}
	return out
}
