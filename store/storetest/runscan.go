package storetest

import (
	"errors"
	"fmt"
	"qa-sampling/store"
	"qa-sampling/transcript"
	"reflect"
	"slices"
	"testing"
	"time"
)

// scanAll collects ScanWeek's rows by external id.
func scanAll(t *testing.T, s store.Store, from, to time.Time) map[string]store.SampleRow {
	t.Helper()
	out := map[string]store.SampleRow{}
	err := s.ScanWeek(t.Context(), from, to, store.ScanOptions{}, func(r store.SampleRow) error {
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
	owners := map[string]string{}
	withHelpers := func(id, owner string, helpers ...string) *transcript.Prepared {
		owners[id] = owner
		tr := ending(id, owner, weekFrom.Add(5*time.Hour))
		for i, h := range helpers {
			tr.Messages = append(tr.Messages, transcript.Message{
				Role: transcript.RoleAgent, AgentID: h, Text: "helper " + h, SentAt: tr.EndedAt.Add(-time.Duration(len(helpers)-i) * time.Second),
			})
		}
		tr.TransferCount = len(helpers)
		return prepare(tr)
	}
	// handedOver is withHelpers with the owner's own replies written by
	// the first helper: the owner wrote nothing.
	handedOver := func(id, owner string, helpers ...string) *transcript.Prepared {
		p := withHelpers(id, owner, helpers...)
		tr := p.Transcript
		tr.Messages = slices.Clone(tr.Messages)
		for i := range tr.Messages {
			if m := &tr.Messages[i]; m.Role == transcript.RoleAgent && m.AgentID == owner {
				m.AgentID = helpers[0]
			}
		}
		return prepare(tr)
	}
	upsert(t, s,
		withHelpers("x1", "a1", "a3", "a2"),
		withHelpers("x2", "a2", "a1"),
		withHelpers("x3", "a4"),
		withHelpers("x4", "a3", "a3"), // the owner writing with its own id is no second author
		handedOver("x5", "a1", "a2", "a3"),
		handedOver("x6", "a4", "a2"),
	)
	check := func(step string, want map[string][]string) {
		t.Helper()
		got := scanAll(t, s, weekFrom, weekTo)
		for id, authors := range want {
			r := got[id]
			// The agents who wrote, the owner first if they did; the rest
			// in any order.
			g, w := slices.Clone(r.AgentIDs), slices.Clone(authors)
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Errorf("%s: %s AgentIDs = %q, want %q", step, id, r.AgentIDs, authors)
			} else if authors[0] == owners[id] && r.AgentIDs[0] != owners[id] {
				t.Errorf("%s: %s AgentIDs = %q, want the owner %q first", step, id, r.AgentIDs, owners[id])
			}
		}
	}
	check("created", map[string][]string{"x1": {"a1", "a2", "a3"}, "x2": {"a2", "a1"}, "x3": {"a4"}, "x4": {"a3"},
		"x5": {"a2", "a3"}, "x6": {"a2"}})
	upsert(t, s, withHelpers("x1", "a1", "a4"), withHelpers("x2", "a2"), withHelpers("x3", "a4", "a1", "a2", "a3"),
		withHelpers("x5", "a1", "a2"), handedOver("x6", "a4", "a1", "a3"), handedOver("x4", "a3", "a1"))
	check("updated", map[string][]string{"x1": {"a1", "a4"}, "x2": {"a2"}, "x3": {"a4", "a1", "a2", "a3"}, "x4": {"a1"},
		"x5": {"a1", "a2"}, "x6": {"a1", "a3"}})
	for id, want := range map[string][]string{"x4": {"a1"}, "x5": {"a1", "a2"}, "x6": {"a1", "a3"}} {
		if got := get(t, s, id).AgentIDs; !slices.Equal(got, want) {
			t.Errorf("GetTranscript(%s).AgentIDs = %q, want %q", id, got, want)
		}
	}
	// fn may keep and extend what it is given without disturbing other rows.
	var kept [][]string
	err := s.ScanWeek(t.Context(), weekFrom, weekTo, store.ScanOptions{}, func(r store.SampleRow) error {
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
	err := s.ScanWeek(t.Context(), weekFrom, weekTo, store.ScanOptions{}, func(store.SampleRow) error {
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
	if err := s.ScanWeek(t.Context(), weekTo, weekTo.AddDate(0, 0, 7), store.ScanOptions{}, func(store.SampleRow) error { calls++; return nil }); err != nil || calls != 0 {
		t.Errorf("empty week: %v, %d calls", err, calls)
	}
}

// testPickedInWeek: the pairs of the week's picks, made by a run, a
// replacement of a skipped pick (the skipped one stays picked) and a
// top-up, and no pick of a transcript that ended outside the week.
func testPickedInWeek(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1", "c2", "c3")
	upsert(t, s, prepare(ending("edge-from", "a2", weekFrom)), prepare(ending("edge-to", "a2", weekTo)),
		prepare(ending("before", "a2", weekFrom.Add(-time.Hour))))
	if got, err := s.PickedInWeek(ctx, weekFrom, weekTo); err != nil || len(got) != 0 {
		t.Fatalf("PickedInWeek before any run = %v, %v", got, err)
	}
	r := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, r.ID, pick("c1", "a1", "random", 1, ""), pick("c1", "a2", "random", 1, ""), pick("c3", "a1", "csat", 2, "qa-1"),
		pick("edge-from", "a2", "random", 2, ""))
	r2 := mustRun(t, s, "2026-W48", 1)
	mustComplete(t, s, r2.ID, pick("edge-to", "a2", "random", 1, ""))
	r0 := mustRun(t, s, "2026-W46", 1)
	mustComplete(t, s, r0.ID, pick("before", "a2", "random", 1, ""))
	want := map[[2]string]bool{{"c1", "a1"}: true, {"c1", "a2"}: true, {"c3", "a1"}: true, {"edge-from", "a2"}: true}
	check := func(when string) {
		t.Helper()
		if got, err := s.PickedInWeek(ctx, weekFrom, weekTo); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("PickedInWeek %s = %v, %v; want %v", when, got, err, want)
		}
	}
	check("after the runs")

	// c3's pick is skipped and replaced by c2's.
	i := slices.IndexFunc(listPicks(t, s, store.PickFilter{RunID: r.ID}), func(p store.Pick) bool { return p.ExternalID == "c3" })
	if i < 0 {
		t.Fatal("no pick of c3")
	}
	skipped := listPicks(t, s, store.PickFilter{RunID: r.ID})[i]
	skipped.Status, skipped.SkipReason = store.PickSkipped, "spam"
	if _, err := s.UpdatePick(ctx, skipped.ID, store.PickAssigned, skipped); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPick(ctx, store.Pick{RunID: r.ID, ExternalID: "c2", AgentID: "a1", Reason: "csat", Rank: 3,
		InspectorID: "qa-1", Status: store.PickAssigned, ReplacesID: skipped.ID}); err != nil {
		t.Fatal(err)
	}
	want[[2]string{"c2", "a1"}] = true
	check("after a replacement")

	// A top-up picks a chat that arrived after the run.
	before := highWater(t, s)
	upsert(t, s, prepare(ending("late", "a2", weekFrom.Add(50*time.Hour))))
	if _, err := s.TopUpRun(ctx, store.TopUp{RunID: r.ID, Seq: 1, Trigger: "schedule", ScannedThrough: highWater(t, s)},
		[]store.Pick{pick("late", "a2", "random", 3, "")}, nil); err != nil {
		t.Fatalf("TopUpRun: %v", err)
	}
	want[[2]string{"late", "a2"}] = true
	check("after a top-up")
	if got, err := s.PickedInWeekAfter(ctx, weekFrom, weekTo, before); err != nil || !reflect.DeepEqual(got, map[[2]string]bool{{"late", "a2"}: true}) {
		t.Errorf("PickedInWeekAfter(before the late chat) = %v, %v; want only its pick", got, err)
	}
}

// testPickedSharingAnEndTime: transcripts that ended at the same instant
// are told apart in what the picks read of their transcripts (the
// SQLite store finds a pick's transcript by its end time first).
func testPickedSharingAnEndTime(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	at := weekFrom.Add(30 * time.Hour)
	before := highWater(t, s)
	var items []*transcript.Prepared
	for i, channel := range []string{"email", "phone", "web"} {
		tr := ending(fmt.Sprintf("tie-%d", i+1), "a1", at)
		tr.Channel = channel
		items = append(items, prepare(tr))
	}
	upsert(t, s, items...)
	r := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, r.ID, pick("tie-2", "a1", "random", 1, ""))
	want := map[[2]string]bool{{"tie-2", "a1"}: true}
	if got, err := s.PickedInWeek(ctx, weekFrom, weekTo); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PickedInWeek = %v, %v; want %v", got, err, want)
	}
	if got, err := s.PickedInWeekAfter(ctx, weekFrom, weekTo, before); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PickedInWeekAfter = %v, %v; want %v", got, err, want)
	}
	b := mustBasis(t, s, r.ID)
	if wantPicks := []store.BasisPick{{ExternalID: "tie-2", AgentID: "a1", Reason: "random", Rank: 1, Channel: "phone"}}; !reflect.DeepEqual(b.Picks, wantPicks) {
		t.Errorf("RunBasis picks = %+v, want %+v", b.Picks, wantPicks)
	}
}
