package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// samplingTests cover store.SamplingStore; Run adds them to its list.
var samplingTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Inspectors", testInspectors},
	{"Policies", testPolicies},
	{"PoliciesConcurrent", testPoliciesConcurrent},
	{"ScanWeekBoundaries", testScanWeekBoundaries},
	{"ScanWeekFields", testScanWeekFields},
	{"ScanWeekSecondaryAuthors", testScanWeekSecondaryAuthors},
	{"ScanWeekStops", testScanWeekStops},
	{"CreateRunIdempotent", testCreateRunIdempotent},
	{"CreateRunConcurrent", testCreateRunConcurrent},
	{"CompleteRun", testCompleteRun},
	{"CompleteRunAtomic", testCompleteRunAtomic},
	{"CompleteRunConcurrent", testCompleteRunConcurrent},
	{"ClaimRun", testClaimRun},
	{"ClaimRunConcurrent", testClaimRunConcurrent},
	{"PickedOncePerAgentAcrossRuns", testPickedOncePerAgent},
	{"PickedInWeek", testPickedInWeek},
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
		if _, err := s.UpsertInspector(t.Context(), store.Inspector{ID: id, Name: "Inspector " + id, Active: true}); err != nil {
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

func testInspectors(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.ListInspectors(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListInspectors on an empty store = %v, %v", got, err)
	}
	if _, err := s.UpsertInspector(ctx, store.Inspector{Name: "no id", Active: true}); err == nil {
		t.Error("UpsertInspector with an empty id succeeded")
	}
	w := begin()
	steps := []struct {
		in   store.Inspector
		want store.Outcome
	}{
		{store.Inspector{ID: "qa-2", Name: "王质检", Active: true}, store.Created},
		{store.Inspector{ID: "qa-1", Name: "Li", Active: true}, store.Created},
		{store.Inspector{ID: "qa-2", Name: "王质检", Active: true}, store.Unchanged},
		{store.Inspector{ID: "qa-2", Name: "王质检", Active: false}, store.Updated},
		{store.Inspector{ID: "qa-2", Name: "Wang", Active: false}, store.Updated},
		{store.Inspector{ID: "qa-2", Name: "Wang", Active: false}, store.Unchanged},
	}
	for i, st := range steps {
		got, err := s.UpsertInspector(ctx, st.in)
		if err != nil || got != st.want {
			t.Errorf("step %d: UpsertInspector(%+v) = %v, %v; want %v", i, st.in, got, err, st.want)
		}
	}
	w = w.close()
	list, err := s.ListInspectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "qa-1" || list[1].ID != "qa-2" {
		t.Fatalf("ListInspectors = %+v, want qa-1, qa-2", list)
	}
	if got := list[1]; got.Name != "Wang" || got.Active {
		t.Errorf("qa-2 = %+v, want the last update", got)
	}
	if got := list[0]; got.Name != "Li" || !got.Active {
		t.Errorf("qa-1 = %+v", got)
	}
	for _, in := range list {
		w.check(t, in.ID+" CreatedAt", in.CreatedAt)
		w.check(t, in.ID+" UpdatedAt", in.UpdatedAt)
		if in.UpdatedAt.Before(in.CreatedAt) {
			t.Errorf("%s updated %s before created %s", in.ID, in.UpdatedAt, in.CreatedAt)
		}
	}
	// Unchanged leaves updated_at alone.
	before := list[1].UpdatedAt
	time.Sleep(3 * time.Millisecond)
	if o, err := s.UpsertInspector(ctx, store.Inspector{ID: "qa-2", Name: "Wang"}); err != nil || o != store.Unchanged {
		t.Fatalf("UpsertInspector unchanged = %v, %v", o, err)
	}
	list, err = s.ListInspectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !list[1].UpdatedAt.Equal(before) {
		t.Errorf("UpdatedAt moved from %s to %s without a change", before, list[1].UpdatedAt)
	}
}

func testPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.LatestPolicy(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestPolicy on an empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.GetPolicy(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPolicy(1) on an empty store: %v, want ErrNotFound", err)
	}
	docs := []string{
		`{"random_per_agent":3,"targeted_per_agent":2}`,
		"{\n  \"time_zone\": \"Asia/Shanghai\",\n  \"note\": \"质检 \\u0001 'quoted'\"\n}",
		`{}`,
	}
	w := begin()
	var added []store.PolicyVersion
	for i, d := range docs {
		pv, err := s.AddPolicyVersion(ctx, []byte(d), fmt.Sprintf("admin-%d", i))
		if err != nil {
			t.Fatalf("AddPolicyVersion %d: %v", i, err)
		}
		if pv.Version != int64(i+1) || string(pv.Document) != d || pv.CreatedBy != fmt.Sprintf("admin-%d", i) {
			t.Errorf("AddPolicyVersion %d = %+v", i, pv)
		}
		added = append(added, pv)
	}
	w = w.close()
	for _, pv := range added {
		w.check(t, fmt.Sprintf("version %d CreatedAt", pv.Version), pv.CreatedAt)
		got, err := s.GetPolicy(ctx, pv.Version)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, pv) {
			t.Errorf("GetPolicy(%d) = %+v, want %+v", pv.Version, got, pv)
		}
	}
	latest, err := s.LatestPolicy(ctx)
	if err != nil || !reflect.DeepEqual(latest, added[2]) {
		t.Errorf("LatestPolicy = %+v, %v; want %+v", latest, err, added[2])
	}
	if _, err := s.GetPolicy(ctx, 4); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPolicy(4) = %v, want ErrNotFound", err)
	}
	// Saving the latest document again stores nothing and returns it;
	// an older document becomes a new version.
	if pv, err := s.AddPolicyVersion(ctx, []byte(docs[2]), "someone else"); err != nil || !reflect.DeepEqual(pv, added[2]) {
		t.Errorf("AddPolicyVersion(latest document) = %+v, %v; want version 3 as stored", pv, err)
	}
	if pv, err := s.AddPolicyVersion(ctx, []byte(docs[0]), "admin-0"); err != nil || pv.Version != 4 {
		t.Errorf("AddPolicyVersion(an older document) = %+v, %v; want version 4", pv, err)
	}
	if pv, err := s.AddPolicyVersion(ctx, []byte(docs[0]+" "), "admin-0"); err != nil || pv.Version != 5 {
		t.Errorf("AddPolicyVersion(latest plus a space) = %+v, %v; want version 5", pv, err)
	}
}

// testPoliciesConcurrent has replicas store the same default at once
// (all must get version 1), then admins store different documents at once
// (each gets a version of its own).
func testPoliciesConcurrent(t *testing.T, s store.Store) {
	const n = 8
	add := func(doc func(i int) []byte) []int64 {
		versions := make(chan int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				pv, err := s.AddPolicyVersion(t.Context(), doc(i), "admin")
				if err != nil {
					t.Errorf("AddPolicyVersion: %v", err)
					return
				}
				versions <- pv.Version
			})
		}
		wg.Wait()
		close(versions)
		var got []int64
		for v := range versions {
			got = append(got, v)
		}
		slices.Sort(got)
		return got
	}
	if got, want := add(func(int) []byte { return []byte(`{"default":true}`) }), slices.Repeat([]int64{1}, n); !slices.Equal(got, want) {
		t.Errorf("the same document stored at once: versions %v, want %v", got, want)
	}
	if got, want := add(func(i int) []byte { return fmt.Appendf(nil, `{"writer":%d}`, i) }), []int64{2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("different documents stored at once: versions %v, want %v", got, want)
	}
}

// scanAll collects ScanWeek's rows by external id.
func scanAll(t *testing.T, s store.Store, from, to time.Time) map[string]store.SampleRow {
	t.Helper()
	out := map[string]store.SampleRow{}
	err := s.ScanWeek(t.Context(), from, to, func(r store.SampleRow) error {
		if _, dup := out[r.ExternalID]; dup {
			t.Errorf("ScanWeek returned %q twice", r.ExternalID)
		}
		out[r.ExternalID] = r
		return nil
	})
	if err != nil {
		t.Fatalf("ScanWeek: %v", err)
	}
	return out
}

func testScanWeekBoundaries(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2")
	ms := time.Millisecond
	ends := map[string]time.Time{
		"before":        weekFrom.Add(-ms),
		"at-from":       weekFrom,
		"middle":        weekFrom.Add(80 * time.Hour),
		"last-ms":       weekTo.Add(-ms),
		"at-to":         weekTo,
		"week-before":   weekFrom.AddDate(0, 0, -3),
		"week-after":    weekTo.AddDate(0, 0, 3),
		"a-year-before": weekFrom.AddDate(-1, 0, 0),
	}
	var items []*transcript.Prepared
	for id, end := range ends {
		agentID := "a1"
		if len(id)%2 == 0 {
			agentID = "a2"
		}
		items = append(items, prepare(ending(id, agentID, end)))
	}
	upsert(t, s, items...)
	got := scanAll(t, s, weekFrom, weekTo)
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if want := []string{"at-from", "last-ms", "middle"}; !slices.Equal(ids, want) {
		t.Errorf("ScanWeek [from, to) = %q, want %q (from in, to out)", ids, want)
	}
	if got := scanAll(t, s, weekTo, weekTo.AddDate(0, 0, 7)); len(got) != 2 {
		t.Errorf("next week has %d rows, want at-to and week-after", len(got))
	}
	if got := scanAll(t, s, weekFrom.AddDate(0, 0, 14), weekFrom.AddDate(0, 0, 21)); len(got) != 0 {
		t.Errorf("an empty week returned %d rows", len(got))
	}
}

func testScanWeekFields(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	full := ending("full", "a1", weekFrom.Add(time.Hour))
	full.Channel, full.CustomerTier, full.CSAT, full.TransferCount = "wechat", "vip", 1, 3
	full.Tags = []string{"complaint", "escalated", "退款"}
	bare := ending("bare", "a1", weekFrom.Add(2*time.Hour))
	bare.CSAT, bare.Tags, bare.CustomerTier = 0, nil, ""
	odd := ending("odd-标识-'\"", "a1", weekFrom.Add(3*time.Hour))
	odd.Tags = []string{`quote"d`, `back\slash`, "tab\tnewline\n", "emoji 🙂", ""}
	botOnly := ending("bot-only", "a1", weekFrom.Add(4*time.Hour))
	botOnly.Messages = botOnly.Messages[:2] // system and bot lines only
	items := []*transcript.Prepared{prepare(full), prepare(bare), prepare(odd), prepare(botOnly)}
	upsert(t, s, items...)

	got := scanAll(t, s, weekFrom, weekTo)
	if len(got) != len(items) {
		t.Fatalf("ScanWeek returned %d rows, want %d", len(got), len(items))
	}
	for _, p := range items {
		want := store.SampleRow{
			ExternalID:        p.ExternalID,
			AgentIDs:          []string{"a1"},
			Channel:           p.Channel,
			CustomerTier:      p.CustomerTier,
			Tags:              p.Tags,
			CSAT:              p.CSAT,
			TransferCount:     p.TransferCount,
			HandleTime:        p.Metrics.HandleTime,
			EndedAt:           p.EndedAt,
			MessageCount:      p.Metrics.MessageCount,
			AgentMessageCount: p.Metrics.AgentMessageCount,
			CustomerMessages:  p.Metrics.CustomerMessageCount,
		}
		r := got[p.ExternalID]
		if !r.EndedAt.Equal(want.EndedAt) {
			t.Errorf("%q EndedAt = %s, want %s", p.ExternalID, r.EndedAt, want.EndedAt)
		}
		r.EndedAt = want.EndedAt
		if len(r.Tags) == 0 && len(want.Tags) == 0 {
			r.Tags = want.Tags
		}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("ScanWeek row of %q:\n got %+v\nwant %+v", p.ExternalID, r, want)
		}
	}
	if r := got["bot-only"]; r.AgentMessageCount != 0 || r.CustomerMessages != 0 || r.MessageCount != 2 {
		t.Errorf("bot-only counts = %d/%d/%d, want 2 messages, none by agent or customer", r.MessageCount, r.AgentMessageCount, r.CustomerMessages)
	}
	if r := got["full"]; r.HandleTime <= 0 {
		t.Errorf("HandleTime = %v, want positive", r.HandleTime)
	}
}

func testScanWeekSecondaryAuthors(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2", "a3", "a4")
	withHelpers := func(id, owner string, helpers ...string) *transcript.Prepared {
		tr := ending(id, owner, weekFrom.Add(5*time.Hour))
		for i, h := range helpers {
			tr.Messages = append(tr.Messages, transcript.Message{
				Role: transcript.RoleAgent, AgentID: h, Text: "helper " + h, SentAt: tr.EndedAt.Add(-time.Duration(len(helpers)-i) * time.Second),
			})
		}
		tr.TransferCount = len(helpers)
		return prepare(tr)
	}
	upsert(t, s,
		withHelpers("x1", "a1", "a3", "a2"),
		withHelpers("x2", "a2", "a1"),
		withHelpers("x3", "a4"),
		withHelpers("x4", "a3", "a3"), // the owner writing with its own id is no second author
	)
	check := func(step string, want map[string][]string) {
		t.Helper()
		got := scanAll(t, s, weekFrom, weekTo)
		for id, authors := range want {
			r := got[id]
			// The owner first; the rest in any order.
			if len(r.AgentIDs) == 0 || r.AgentIDs[0] != authors[0] {
				t.Errorf("%s: %s AgentIDs = %q, want %q first", step, id, r.AgentIDs, authors[0])
				continue
			}
			g, w := slices.Clone(r.AgentIDs[1:]), slices.Clone(authors[1:])
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Errorf("%s: %s AgentIDs = %q, want %q", step, id, r.AgentIDs, authors)
			}
		}
	}
	check("created", map[string][]string{"x1": {"a1", "a2", "a3"}, "x2": {"a2", "a1"}, "x3": {"a4"}, "x4": {"a3"}})
	upsert(t, s, withHelpers("x1", "a1", "a4"), withHelpers("x2", "a2"), withHelpers("x3", "a4", "a1", "a2", "a3"))
	check("updated", map[string][]string{"x1": {"a1", "a4"}, "x2": {"a2"}, "x3": {"a4", "a1", "a2", "a3"}, "x4": {"a3"}})
	// fn may keep and extend what it is given without disturbing other rows.
	var kept [][]string
	err := s.ScanWeek(t.Context(), weekFrom, weekTo, func(r store.SampleRow) error {
		r.AgentIDs = append(r.AgentIDs, "appended")
		kept = append(kept, r.AgentIDs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range kept {
		if n := slices.Index(ids, "appended"); n != len(ids)-1 {
			t.Errorf("AgentIDs %q: an append by fn leaked into another row", ids)
		}
	}
}

func testScanWeekStops(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "s1", "s2", "s3", "s4")
	stop := errors.New("enough")
	calls := 0
	err := s.ScanWeek(t.Context(), weekFrom, weekTo, func(store.SampleRow) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("ScanWeek after fn failed = %v after %d calls; want fn's error after 2", err, calls)
	}
	calls = 0
	if err := s.ScanWeek(t.Context(), weekTo, weekTo.AddDate(0, 0, 7), func(store.SampleRow) error { calls++; return nil }); err != nil || calls != 0 {
		t.Errorf("empty week: %v, %d calls", err, calls)
	}
}

func testCreateRunIdempotent(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed := []byte{0, 1, 2, 0xfe, 0xff}
	created := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	first, ok, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: seed, Trigger: "schedule", CreatedAt: created})
	if err != nil || !ok {
		t.Fatalf("CreateRun = %+v, %v, %v; want created", first, ok, err)
	}
	want := store.Run{ID: first.ID, Week: "2026-W47", PolicyVersion: 1, Seed: seed, Trigger: "schedule", CreatedAt: created}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("CreateRun = %+v, want %+v", first, want)
	}
	again, ok, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("other"), Trigger: "manual:admin"})
	if err != nil || ok {
		t.Fatalf("CreateRun again = %v, %v; want the existing run", ok, err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("CreateRun again = %+v, want the first run %+v (its seed and trigger)", again, first)
	}
	w := begin()
	v2, ok, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 2, Trigger: "manual:admin"})
	w = w.close()
	if err != nil || !ok || v2.ID == first.ID {
		t.Fatalf("CreateRun(policy 2) = %+v, %v, %v; want a new run", v2, ok, err)
	}
	w.check(t, "CreatedAt (not given)", v2.CreatedAt)
	if len(v2.Seed) != 0 {
		t.Errorf("nil seed read back as %v", v2.Seed)
	}
	w48 := mustRun(t, s, "2026-W48", 1)

	got, err := s.GetRun(ctx, first.ID)
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Errorf("GetRun = %+v, %v; want %+v", got, err, first)
	}
	if _, err := s.GetRun(ctx, w48.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(unknown) = %v, want ErrNotFound", err)
	}
	runIDs := func(week string) []int64 {
		rs, err := s.ListRuns(ctx, week)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got, want := runIDs("2026-W47"), []int64{v2.ID, first.ID}; !slices.Equal(got, want) {
		t.Errorf("ListRuns(W47) = %v, want newest first %v", got, want)
	}
	if got, want := runIDs(""), []int64{w48.ID, v2.ID, first.ID}; !slices.Equal(got, want) {
		t.Errorf("ListRuns(all) = %v, want %v", got, want)
	}
	if got := runIDs("2020-W01"); len(got) != 0 {
		t.Errorf("ListRuns(other week) = %v", got)
	}
	if _, _, err := s.CreateRun(ctx, store.Run{PolicyVersion: 1}); err == nil {
		t.Error("CreateRun without a week succeeded")
	}
}

func testCreateRunConcurrent(t *testing.T, s store.Store) {
	const n = 8
	type result struct {
		run     store.Run
		created bool
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, created, err := s.CreateRun(t.Context(), store.Run{Week: "2026-W47", PolicyVersion: 3, Seed: fmt.Appendf(nil, "seed-%d", i), Trigger: "schedule"})
			if err != nil {
				t.Errorf("CreateRun: %v", err)
				return
			}
			results <- result{r, created}
		})
	}
	wg.Wait()
	close(results)
	var first store.Run
	creators := 0
	for r := range results {
		if r.created {
			creators++
		}
		if first.ID == 0 {
			first = r.run
		} else if !reflect.DeepEqual(r.run, first) {
			t.Errorf("racing CreateRun returned %+v and %+v", r.run, first)
		}
	}
	if creators != 1 {
		t.Errorf("%d callers created the run, want exactly 1", creators)
	}
	if rs, err := s.ListRuns(t.Context(), "2026-W47"); err != nil || len(rs) != 1 {
		t.Errorf("ListRuns = %d runs, %v; want 1", len(rs), err)
	}
}

func testCompleteRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1", "qa-2")
	items := append(inWeek(t, s, "a1", "c1", "c2", "c3"), inWeek(t, s, "a2", "c4")...)
	run := mustRun(t, s, "2026-W47", 1)
	picks := []store.Pick{
		pick("c3", "a1", "random", 1, "qa-1"),
		pick("c1", "a1", "complaint", 2, "qa-2"),
		pick("c4", "a2", "random", 1, ""),
	}
	picks[0].Key = 1<<63 | 12345 // the top bit survives the signed column
	picks[1].Key = ^uint64(0)
	picks[2].RunID = run.ID // may be given; must match
	w := begin()
	done, err := s.CompleteRun(ctx, run.ID, picks, 4)
	w = w.close()
	if err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	w.check(t, "CompletedAt", done.CompletedAt)
	if done.ID != run.ID || done.Picks != 3 || done.Shortfalls != 4 || done.Week != run.Week || !done.CreatedAt.Equal(run.CreatedAt) {
		t.Errorf("CompleteRun = %+v", done)
	}
	if got, _ := s.GetRun(ctx, run.ID); !reflect.DeepEqual(got, done) {
		t.Errorf("GetRun after CompleteRun = %+v, want %+v", got, done)
	}

	got := listPicks(t, s, store.PickFilter{RunID: run.ID})
	if !slices.Equal(identities(got), identities(picks)) {
		t.Errorf("ListPicks = %q\nwant (the caller's order) %q", identities(got), identities(picks))
	}
	for i, p := range got {
		if p.RunID != run.ID || p.ID == 0 || (i > 0 && p.ID <= got[i-1].ID) {
			t.Errorf("pick %d: RunID %d ID %d", i, p.RunID, p.ID)
		}
		w.check(t, "pick CreatedAt", p.CreatedAt)
		if !p.UpdatedAt.Equal(p.CreatedAt) {
			t.Errorf("pick %d UpdatedAt %s != CreatedAt %s", i, p.UpdatedAt, p.CreatedAt)
		}
	}

	// Picked transcripts are frozen: a changed push keeps the sampled one.
	for _, p := range items {
		st := get(t, s, p.ExternalID)
		if want := p.ExternalID != "c2"; st.Sampled != want {
			t.Errorf("%s Sampled = %v, want %v", p.ExternalID, st.Sampled, want)
		}
	}
	changed := ending("c1", "a1", weekFrom.Add(time.Hour))
	changed.Messages[4].Text = "edited after sampling"
	if out := upsert(t, s, prepare(changed)); out[0] != store.KeptSampled {
		t.Errorf("push of a picked transcript: %v, want kept_sampled", out[0])
	}
	checkStored(t, get(t, s, "c1"), items[0])
	free := ending("c2", "a1", weekFrom.Add(2*time.Hour))
	free.Messages[4].Text = "edited, not picked"
	if out := upsert(t, s, prepare(free)); out[0] != store.Updated {
		t.Errorf("push of an unpicked transcript: %v, want updated", out[0])
	}

	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{pick("c2", "a1", "random", 3, "")}, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second CompleteRun = %v, want ErrConflict", err)
	}
	if got := listPicks(t, s, store.PickFilter{RunID: run.ID}); len(got) != 3 {
		t.Errorf("a refused CompleteRun changed the picks: %d", len(got))
	}
	if _, err := s.CompleteRun(ctx, run.ID+1000, nil, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CompleteRun(unknown run) = %v, want ErrNotFound", err)
	}
	// A run with nothing to pick completes too.
	empty := mustRun(t, s, "2026-W48", 1)
	if r, err := s.CompleteRun(ctx, empty.ID, nil, 2); err != nil || r.CompletedAt.IsZero() || r.Picks != 0 || r.Shortfalls != 2 {
		t.Errorf("CompleteRun(no picks) = %+v, %v", r, err)
	}
}

func testCompleteRunAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1", "c2", "c3")
	run := mustRun(t, s, "2026-W47", 1)
	good := []store.Pick{pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1")}
	cases := []struct {
		name  string
		picks []store.Pick
		want  error
	}{
		{"unknown transcript last", append(slices.Clone(good), pick("ghost", "a1", "random", 3, "")), store.ErrNotFound},
		{"same transcript and agent twice", append(slices.Clone(good), pick("c1", "a1", "complaint", 3, "")), store.ErrConflict},
		{"unknown inspector", append(slices.Clone(good), pick("c3", "a1", "random", 3, "qa-ghost")), store.ErrNotFound},
		{"unknown agent", append(slices.Clone(good), pick("c3", "nobody", "random", 1, "")), store.ErrNotFound},
	}
	for _, tc := range cases {
		_, err := s.CompleteRun(ctx, run.ID, tc.picks, 1)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: CompleteRun = %v, want %v", tc.name, err, tc.want)
		}
		if got := listPicks(t, s, store.PickFilter{}); len(got) != 0 {
			t.Errorf("%s: %d picks written by a failed CompleteRun", tc.name, len(got))
		}
		if r, err := s.GetRun(ctx, run.ID); err != nil || !r.CompletedAt.IsZero() || r.Picks != 0 || r.Shortfalls != 0 {
			t.Errorf("%s: run after a failed CompleteRun = %+v, %v; want incomplete", tc.name, r, err)
		}
		for _, id := range []string{"c1", "c2", "c3"} {
			if get(t, s, id).Sampled {
				t.Errorf("%s: %s marked sampled by a failed CompleteRun", tc.name, id)
			}
		}
	}
	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{{ExternalID: "c1", AgentID: "a1", Reason: "random", Status: store.PickAssigned}}, 0); err == nil {
		t.Error("an assigned pick without an inspector was accepted")
	}
	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{{RunID: run.ID + 1, ExternalID: "c1", AgentID: "a1", Reason: "random"}}, 0); err == nil {
		t.Error("a pick of another run was accepted")
	}
	// The same run still completes afterwards.
	if r := mustComplete(t, s, run.ID, good...); r.Picks != 2 {
		t.Errorf("Picks = %d after the retry", r.Picks)
	}
}

// testCompleteRunConcurrent has several callers complete one run with
// the same picks (replicas finishing a stale run): one wins, the others
// get ErrConflict, and the picks are written once.
func testCompleteRunConcurrent(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "c1", "c2", "c3", "c4")
	run := mustRun(t, s, "2026-W47", 1)
	picks := []store.Pick{pick("c4", "a1", "random", 1, ""), pick("c2", "a1", "random", 2, ""), pick("c1", "a1", "csat", 3, "")}
	const n = 4
	var wins sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range n {
		wins.Go(func() {
			_, err := s.CompleteRun(t.Context(), run.ID, picks, 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("CompleteRun: %v, want nil or ErrConflict", err)
			}
		})
	}
	wins.Wait()
	if won != 1 {
		t.Errorf("%d callers completed the run, want 1", won)
	}
	if got := listPicks(t, s, store.PickFilter{}); len(got) != len(picks) {
		t.Errorf("%d picks stored, want %d", len(got), len(picks))
	}
}

func mustClaim(t *testing.T, s store.Store, runID int64) func() {
	t.Helper()
	release, err := s.ClaimRun(t.Context(), runID)
	if err != nil {
		t.Fatalf("ClaimRun(%d): %v", runID, err)
	}
	return release
}

func testClaimRun(t *testing.T, s store.Store) {
	a, b := mustRun(t, s, "2026-W47", 1), mustRun(t, s, "2026-W48", 1)
	releaseA := mustClaim(t, s, a.ID)
	if _, err := s.ClaimRun(t.Context(), a.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claiming a held run = %v, want ErrConflict", err)
	}
	releaseB := mustClaim(t, s, b.ID) // claims are per run
	releaseA()
	releaseA() // a second release is harmless
	again := mustClaim(t, s, a.ID)
	if _, err := s.ClaimRun(t.Context(), b.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("releasing run %d freed run %d: %v", a.ID, b.ID, err)
	}
	again()
	releaseB()
	mustClaim(t, s, b.ID)()
}

func testClaimRunConcurrent(t *testing.T, s store.Store) {
	run := mustRun(t, s, "2026-W47", 1)
	const n = 6
	releases := make([]func(), n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			release, err := s.ClaimRun(t.Context(), run.ID)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("ClaimRun: %v, want nil or ErrConflict", err)
			}
			releases[i] = release
		})
	}
	wg.Wait()
	won := 0
	for _, r := range releases {
		if r != nil {
			won++
			defer r()
		}
	}
	if won != 1 {
		t.Errorf("%d callers claimed the run at once, want 1", won)
	}
}

func testPickedOncePerAgent(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	inWeek(t, s, "a1", "c1", "c2")
	v1 := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, v1.ID, pick("c1", "a1", "random", 1, ""))
	// A later policy version of the same week cannot pick c1 for a1 again,
	// but may pick it for another author.
	v2 := mustRun(t, s, "2026-W47", 2)
	if _, err := s.CompleteRun(ctx, v2.ID, []store.Pick{pick("c2", "a1", "random", 1, ""), pick("c1", "a1", "complaint", 2, "")}, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("picking (c1, a1) in a second run = %v, want ErrConflict", err)
	}
	if got := listPicks(t, s, store.PickFilter{RunID: v2.ID}); len(got) != 0 {
		t.Errorf("the refused run wrote %d picks", len(got))
	}
	mustComplete(t, s, v2.ID, pick("c2", "a1", "random", 1, ""), pick("c1", "a2", "random", 1, ""))
}

func testPickedInWeek(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2")
	inWeek(t, s, "a1", "c1", "c2", "c3")
	upsert(t, s, prepare(ending("edge-from", "a2", weekFrom)), prepare(ending("edge-to", "a2", weekTo)),
		prepare(ending("before", "a2", weekFrom.Add(-time.Hour))))
	if got, err := s.PickedInWeek(t.Context(), weekFrom, weekTo); err != nil || len(got) != 0 {
		t.Fatalf("PickedInWeek before any run = %v, %v", got, err)
	}
	r := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, r.ID, pick("c1", "a1", "random", 1, ""), pick("c1", "a2", "random", 1, ""), pick("c3", "a1", "csat", 2, ""),
		pick("edge-from", "a2", "random", 2, ""))
	r2 := mustRun(t, s, "2026-W48", 1)
	mustComplete(t, s, r2.ID, pick("edge-to", "a2", "random", 1, ""))
	r0 := mustRun(t, s, "2026-W46", 1)
	mustComplete(t, s, r0.ID, pick("before", "a2", "random", 1, ""))
	got, err := s.PickedInWeek(t.Context(), weekFrom, weekTo)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]bool{{"c1", "a1"}: true, {"c1", "a2"}: true, {"c3", "a1"}: true, {"edge-from", "a2"}: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PickedInWeek = %v, want %v", got, want)
	}
}

// filterFixture stores two weeks of picks with every filterable field
// varied and returns them in id order.
func filterFixture(t *testing.T, s store.Store) (w47, w48 store.Run, all []store.Pick) {
	t.Helper()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1", "qa-2")
	inWeek(t, s, "a1", "c1", "c2", "c3", "c4")
	inWeek(t, s, "a2", "d1", "d2")
	var next []*transcript.Prepared
	for i, id := range []string{"n1", "n2", "n3"} {
		next = append(next, prepare(ending(id, "a1", weekTo.Add(time.Duration(i+1)*time.Hour))))
	}
	upsert(t, s, next...)
	w47 = mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, w47.ID,
		pick("c1", "a1", "random", 1, "qa-1"),
		pick("c2", "a1", "complaint", 2, "qa-2"),
		pick("d1", "a2", "random", 1, "qa-1"),
		pick("c3", "a1", "random", 3, ""),
		pick("d2", "a2", "vip", 2, "qa-2"),
	)
	w48 = mustRun(t, s, "2026-W48", 1)
	mustComplete(t, s, w48.ID,
		pick("n1", "a1", "random", 1, "qa-1"),
		pick("n2", "a1", "complaint", 2, "qa-1"),
		pick("n3", "a1", "random", 3, ""),
	)
	// One released, one skipped.
	all = listPicks(t, s, store.PickFilter{})
	rel := all[0]
	rel.InspectorID, rel.Status = "", store.PickPool
	if _, err := s.UpdatePick(t.Context(), rel.ID, store.PickAssigned, rel); err != nil {
		t.Fatal(err)
	}
	skip := all[1]
	skip.Status, skip.SkipReason = store.PickSkipped, "spam"
	if _, err := s.UpdatePick(t.Context(), skip.ID, store.PickAssigned, skip); err != nil {
		t.Fatal(err)
	}
	return w47, w48, listPicks(t, s, store.PickFilter{})
}

func testListPicksFilters(t *testing.T, s store.Store) {
	w47, w48, all := filterFixture(t, s)
	if len(all) != 8 {
		t.Fatalf("fixture has %d picks, want 8", len(all))
	}
	for i, p := range all {
		if i > 0 && p.ID <= all[i-1].ID {
			t.Fatalf("ListPicks not in id order: %d after %d", p.ID, all[i-1].ID)
		}
	}
	match := func(f store.PickFilter, p store.Pick) bool {
		week := map[int64]string{w47.ID: w47.Week, w48.ID: w48.Week}[p.RunID]
		return (f.RunID == 0 || p.RunID == f.RunID) && (f.Week == "" || week == f.Week) &&
			(f.AgentID == "" || p.AgentID == f.AgentID) && (f.Reason == "" || p.Reason == f.Reason) &&
			(f.InspectorID == "" || p.InspectorID == f.InspectorID) && (f.Status == "" || p.Status == f.Status)
	}
	filters := []store.PickFilter{
		{RunID: w47.ID},
		{RunID: w48.ID},
		{Week: "2026-W47"},
		{Week: "2026-W48"},
		{Week: "2026-W49"},
		{AgentID: "a2"},
		{Reason: "random"},
		{Reason: "complaint"},
		{InspectorID: "qa-1"},
		{InspectorID: "qa-2"},
		{Status: store.PickAssigned},
		{Status: store.PickPool},
		{Status: store.PickSkipped},
		{InspectorID: "qa-1", Status: store.PickAssigned}, // a queue
		{Week: "2026-W47", AgentID: "a1", Reason: "random"},
		{Week: "2026-W48", InspectorID: "qa-1", Status: store.PickAssigned},
		{RunID: w47.ID, Week: "2026-W48"}, // contradictory: nothing
	}
	for _, f := range filters {
		var want []store.Pick
		for _, p := range all {
			if match(f, p) {
				want = append(want, p)
			}
		}
		got := listPicks(t, s, f)
		if !reflect.DeepEqual(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("ListPicks(%+v):\n got %q\nwant %q", f, identities(got), identities(want))
		}
	}
	// Sanity of the fixture: the filters above are not all trivial.
	if n := len(listPicks(t, s, store.PickFilter{InspectorID: "qa-1", Status: store.PickAssigned})); n != 3 {
		t.Errorf("qa-1's queue has %d items, want 3", n)
	}
	for _, p := range all {
		if p.ExternalID == "" || p.CreatedAt.IsZero() {
			t.Errorf("pick %d lacks ExternalID or CreatedAt: %+v", p.ID, p)
		}
	}
}

func testListPicksPaging(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	var ids []string
	for i := range 23 {
		ids = append(ids, fmt.Sprintf("p%02d", i))
	}
	inWeek(t, s, "a1", ids...)
	run := mustRun(t, s, "2026-W47", 1)
	var picks []store.Pick
	for i, id := range ids {
		picks = append(picks, pick(id, "a1", "random", i+1, ""))
	}
	slices.Reverse(picks) // ids follow the given order, not external ids
	mustComplete(t, s, run.ID, picks...)
	all := listPicks(t, s, store.PickFilter{RunID: run.ID})
	for _, limit := range []int{1, 5, 23, 100} {
		var got []store.Pick
		after := int64(0)
		for pages := 0; ; pages++ {
			page := listPicks(t, s, store.PickFilter{RunID: run.ID, AfterID: after, Limit: limit})
			if len(page) > limit {
				t.Fatalf("Limit %d returned %d", limit, len(page))
			}
			if len(page) == 0 || pages > 30 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(got, all) {
			t.Errorf("paging by %d: %d picks, want the %d of one call in the same order", limit, len(got), len(all))
		}
	}
	if !slices.Equal(identities(all), identities(picks)) {
		t.Errorf("ListPicks order = %q, want the order given to CompleteRun", identities(all))
	}
	// AfterID filters too, with other filters.
	mid := all[10].ID
	rest := listPicks(t, s, store.PickFilter{AgentID: "a1", AfterID: mid})
	if len(rest) != 12 || rest[0].ID <= mid {
		t.Errorf("AfterID %d returned %d picks starting at %d", mid, len(rest), rest[0].ID)
	}
}

func testInspectorLoads(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.InspectorLoads(ctx); err != nil || len(got) != 0 {
		t.Fatalf("InspectorLoads on an empty store = %v, %v", got, err)
	}
	mustInspectors(t, s, "qa-3") // active, no picks
	_, _, _ = filterFixture(t, s)
	mustInspectors(t, s, "qa-idle")
	if _, err := s.UpsertInspector(ctx, store.Inspector{ID: "qa-off", Name: "gone", Active: false}); err != nil {
		t.Fatal(err)
	}
	got, err := s.InspectorLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// qa-1: c1 released, d1 and n1, n2 assigned; qa-2: c2 skipped, d2 assigned.
	want := map[string]int{"qa-1": 3, "qa-2": 1, "qa-3": 0, "qa-idle": 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InspectorLoads = %v, want %v (inactive left out)", got, want)
	}
	// Deactivating drops an inspector from the loads, picks and all.
	if _, err := s.UpsertInspector(ctx, store.Inspector{ID: "qa-2", Name: "Inspector qa-2", Active: false}); err != nil {
		t.Fatal(err)
	}
	got, err = s.InspectorLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["qa-2"]; ok || got["qa-1"] != 3 {
		t.Errorf("InspectorLoads after deactivating qa-2 = %v", got)
	}
}

func testRecentInspectorsOf(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-x", "qa-y", "qa-z")
	if got, err := s.RecentInspectorsOf(ctx, "a1", 3); err != nil || len(got) != 0 {
		t.Fatalf("RecentInspectorsOf with no picks = %v, %v", got, err)
	}
	// Three weeks; a1 gets x, then y and x, then z and a pool pick.
	var runs []store.Run
	for w := range 3 {
		var items []*transcript.Prepared
		for i := range 3 {
			items = append(items, prepare(ending(fmt.Sprintf("w%d-%d", w, i), "a1", weekFrom.AddDate(0, 0, 7*w).Add(time.Duration(i+1)*time.Hour))))
		}
		upsert(t, s, items...)
		runs = append(runs, mustRun(t, s, fmt.Sprintf("2026-W%d", 47+w), 1))
	}
	mustComplete(t, s, runs[0].ID, pick("w0-0", "a1", "random", 1, "qa-x"))
	mustComplete(t, s, runs[1].ID, pick("w1-0", "a1", "random", 1, "qa-y"), pick("w1-1", "a1", "random", 2, "qa-x"), pick("w1-2", "a2", "random", 1, "qa-z"))
	mustComplete(t, s, runs[2].ID, pick("w2-0", "a1", "random", 1, "qa-z"), pick("w2-1", "a1", "random", 2, ""))
	cases := []struct {
		agent string
		limit int
		want  []string
	}{
		{"a1", 3, []string{"qa-z", "qa-x", "qa-y"}}, // each once, by their newest pick
		{"a1", 2, []string{"qa-z", "qa-x"}},
		{"a1", 10, []string{"qa-z", "qa-x", "qa-y"}},
		{"a2", 3, []string{"qa-z"}},
		{"nobody", 3, nil},
		{"a1", 0, nil},
	}
	for _, tc := range cases {
		got, err := s.RecentInspectorsOf(ctx, tc.agent, tc.limit)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("RecentInspectorsOf(%s, %d) = %q, %v; want %q", tc.agent, tc.limit, got, err, tc.want)
		}
	}
}

func testUpdatePick(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	mustInspectors(t, s, "qa-1", "qa-2")
	inWeek(t, s, "a1", "c1", "c2")
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	all := listPicks(t, s, store.PickFilter{})
	orig := all[0]

	time.Sleep(3 * time.Millisecond)
	rel := orig
	rel.InspectorID, rel.Status = "", store.PickPool
	rel.Reason, rel.Rank, rel.Key = "changed?", 99, 1 // not what UpdatePick changes
	w := begin()
	got, err := s.UpdatePick(ctx, orig.ID, store.PickAssigned, rel)
	w = w.close()
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	want := orig
	want.InspectorID, want.Status, want.UpdatedAt = "", store.PickPool, got.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UpdatePick = %+v\nwant %+v", got, want)
	}
	w.check(t, "UpdatedAt", got.UpdatedAt)
	if !got.CreatedAt.Equal(orig.CreatedAt) {
		t.Errorf("CreatedAt moved")
	}
	// The same compare-and-set again fails: it is no longer assigned.
	if _, err := s.UpdatePick(ctx, orig.ID, store.PickAssigned, rel); !errors.Is(err, store.ErrConflict) {
		t.Errorf("release of a released pick = %v, want ErrConflict", err)
	}
	// Taken from the pool by another inspector, then skipped.
	take := got
	take.InspectorID, take.Status = "qa-2", store.PickAssigned
	if got, err = s.UpdatePick(ctx, orig.ID, store.PickPool, take); err != nil || got.InspectorID != "qa-2" || got.Status != store.PickAssigned {
		t.Fatalf("take from pool = %+v, %v", got, err)
	}
	skip := got
	skip.Status, skip.SkipReason = store.PickSkipped, "not reviewable: 乱码"
	if got, err = s.UpdatePick(ctx, orig.ID, store.PickAssigned, skip); err != nil || got.Status != store.PickSkipped || got.SkipReason != skip.SkipReason || got.InspectorID != "qa-2" {
		t.Fatalf("skip = %+v, %v", got, err)
	}
	if _, err := s.UpdatePick(ctx, orig.ID, store.PickAssigned, rel); !errors.Is(err, store.ErrConflict) {
		t.Errorf("release of a skipped pick = %v, want ErrConflict", err)
	}
	if _, err := s.UpdatePick(ctx, orig.ID+1000, store.PickAssigned, rel); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdatePick(unknown) = %v, want ErrNotFound", err)
	}
	other := all[1]
	other.InspectorID = "qa-ghost"
	if _, err := s.UpdatePick(ctx, other.ID, store.PickAssigned, other); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdatePick to an unknown inspector = %v, want ErrNotFound", err)
	}
	if got := listPicks(t, s, store.PickFilter{})[1]; !reflect.DeepEqual(got, all[1]) {
		t.Errorf("a refused update changed the pick: %+v", got)
	}
}

func testUpdatePickConcurrent(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1")
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"))
	p := listPicks(t, s, store.PickFilter{})[0]
	const n = 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range n {
		wg.Go(func() {
			q := p
			if i%2 == 0 {
				q.InspectorID, q.Status = "", store.PickPool
			} else {
				q.Status, q.SkipReason = store.PickSkipped, fmt.Sprintf("skip %d", i)
			}
			got, err := s.UpdatePick(t.Context(), p.ID, store.PickAssigned, q)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, string(got.Status)+" "+got.SkipReason)
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("UpdatePick: %v", err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d concurrent compare-and-sets succeeded (%q), want 1", len(winners), winners)
	}
	final := listPicks(t, s, store.PickFilter{})[0]
	if string(final.Status)+" "+final.SkipReason != winners[0] {
		t.Errorf("stored %s %q, but the winner wrote %q", final.Status, final.SkipReason, winners[0])
	}
}

func testAddPick(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1", "c2", "c3")
	run := mustRun(t, s, "2026-W47", 1)
	repl := store.Pick{RunID: run.ID, ExternalID: "c2", AgentID: "a1", Reason: "random", Rank: 2, Key: 1 << 63, InspectorID: "qa-1", Status: store.PickAssigned}
	if _, err := s.AddPick(ctx, repl); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddPick to an incomplete run = %v, want ErrConflict", err)
	}
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"))
	skipped := listPicks(t, s, store.PickFilter{})[0]
	skipped.Status, skipped.SkipReason = store.PickSkipped, "spam"
	if _, err := s.UpdatePick(ctx, skipped.ID, store.PickAssigned, skipped); err != nil {
		t.Fatal(err)
	}

	repl.ReplacesID = skipped.ID
	w := begin()
	got, err := s.AddPick(ctx, repl)
	w = w.close()
	if err != nil {
		t.Fatalf("AddPick: %v", err)
	}
	if got.ID <= skipped.ID || got.RunID != run.ID || pickIdentity(got) != pickIdentity(repl) {
		t.Errorf("AddPick = %+v, want %+v with a new id", got, repl)
	}
	w.check(t, "CreatedAt", got.CreatedAt)
	if !get(t, s, "c2").Sampled {
		t.Error("the replacement's transcript is not marked sampled")
	}
	if r, _ := s.GetRun(ctx, run.ID); r.Picks != 2 {
		t.Errorf("run Picks = %d after a replacement, want 2 (the stored picks)", r.Picks)
	}
	if list := listPicks(t, s, store.PickFilter{RunID: run.ID}); len(list) != 2 || !reflect.DeepEqual(list[1], got) {
		t.Errorf("ListPicks after AddPick = %q", identities(list))
	}
	if _, err := s.AddPick(ctx, repl); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddPick of a picked (transcript, agent) = %v, want ErrConflict", err)
	}
	bad := repl
	bad.ExternalID, bad.ReplacesID = "ghost", 0
	if _, err := s.AddPick(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddPick of an unknown transcript = %v, want ErrNotFound", err)
	}
	bad = repl
	bad.ExternalID, bad.RunID = "c3", run.ID+1000
	if _, err := s.AddPick(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddPick to an unknown run = %v, want ErrNotFound", err)
	}
	if r, _ := s.GetRun(ctx, run.ID); r.Picks != 2 || get(t, s, "c3").Sampled {
		t.Errorf("refused AddPicks changed the run (%d picks) or froze c3", r.Picks)
	}
	// A pool replacement, with no inspector.
	pool := repl
	pool.ExternalID, pool.InspectorID, pool.Status, pool.ReplacesID = "c3", "", "", 0
	if got, err := s.AddPick(ctx, pool); err != nil || got.Status != store.PickPool || got.InspectorID != "" {
		t.Errorf("AddPick to the pool = %+v, %v", got, err)
	}
}
