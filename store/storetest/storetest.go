package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// Run runs the suite. newStore must return a new, empty, migrated store
// each time it is called and arrange its cleanup with t.Cleanup. Subtests
// run in parallel, so stores must not share data.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ready", testReady},
		{"UpsertAgentsOutcomes", testUpsertAgentsOutcomes},
		{"UpsertAgentsInputOrder", testUpsertAgentsInputOrder},
		{"EnsureAgents", testEnsureAgents},
		{"ExistingAgents", testExistingAgents},
		{"GetAgentNotFound", testGetAgentNotFound},
		{"ListAgents", testListAgents},
		{"TranscriptRoundTrip", testTranscriptRoundTrip},
		{"TranscriptOutcomes", testTranscriptOutcomes},
		{"TranscriptMixedBatch", testTranscriptMixedBatch},
		{"TranscriptLargeBatch", testTranscriptLargeBatch},
		{"TranscriptSecondaryAgentsReplaced", testSecondaryAgentsReplaced},
		{"TranscriptFailedBatchWritesNothing", testFailedBatchWritesNothing},
		{"TranscriptNotFound", testTranscriptNotFound},
		{"TranscriptEmptyBatch", testTranscriptEmptyBatch},
		{"MarkSampled", testMarkSampled},
		{"Tokens", testTokens},
		{"TokenNotFound", testTokenNotFound},
		{"ConcurrentUpserts", testConcurrentUpserts},
		{"Dictionaries", testDictionaries},
		{"SampleBodies", testSampleBodies},
	}
	tests = append(tests, samplingTests...)
	tests = append(tests, reviewTests...)
	tests = append(tests, backlogTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// base is the start of the test conversations. It has sub-millisecond
// digits so that the suite checks what Prepare truncates is what is stored.
var base = time.Date(2026, 11, 23, 9, 0, 0, 123_456_789, time.UTC)

func agent(id string) store.Agent {
	return store.Agent{AgentID: id, Name: "Name " + id, TeamID: "team-1", SupervisorID: "sup-1", HiredOn: "2024-03-01", Active: true}
}

func mustUpsertAgents(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	agents := make([]store.Agent, len(ids))
	for i, id := range ids {
		agents[i] = agent(id)
	}
	if _, err := s.UpsertAgents(t.Context(), agents); err != nil {
		t.Fatalf("UpsertAgents: %v", err)
	}
}

// conversation is a plain exchange with two agent replies (1000 ms and
// 1501 ms after the customer), so its mean response is not a whole
// millisecond.
func conversation(id, agentID string) transcript.Transcript {
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	return transcript.Transcript{
		ExternalID:   id,
		AgentID:      agentID,
		Channel:      "web",
		CustomerID:   "cust-" + id,
		CustomerTier: "gold",
		StartedAt:    base,
		EndedAt:      at(60_000),
		Messages: []transcript.Message{
			{Role: transcript.RoleSystem, Text: "会话已接入", SentAt: at(0)},
			{Role: transcript.RoleBot, Text: "您好，请描述您的问题", SentAt: at(10)},
			{Role: transcript.RoleCustomer, Text: "我的订单 DD20261123 还没发货", SentAt: at(2_000)},
			{Role: transcript.RoleCustomer, Text: "already 5 days!", SentAt: at(2_500)},
			{Role: transcript.RoleAgent, Text: "您好，我帮您查一下", SentAt: at(3_000)},
			{Role: transcript.RoleCustomer, Text: "好的", SentAt: at(10_000)},
			{Role: transcript.RoleAgent, Text: "已为您催促仓库, tracking SF1234567890", SentAt: at(11_501)},
		},
		Tags:          []string{"shipping", "delay"},
		CSAT:          4,
		TransferCount: 0,
		Attributes:    map[string]string{"order_id": "DD20261123", "lang": "zh-CN"},
	}
}

func prepare(t transcript.Transcript) *transcript.Prepared { return transcript.Prepare(t) }

func upsert(t *testing.T, s store.Store, items ...*transcript.Prepared) []store.Outcome {
	t.Helper()
	out, err := s.UpsertTranscripts(t.Context(), items)
	if err != nil {
		t.Fatalf("UpsertTranscripts: %v", err)
	}
	if len(out) != len(items) {
		t.Fatalf("UpsertTranscripts returned %d outcomes for %d items", len(out), len(items))
	}
	return out
}

func get(t *testing.T, s store.Store, id string) store.StoredTranscript {
	t.Helper()
	st, err := s.GetTranscript(t.Context(), id)
	if err != nil {
		t.Fatalf("GetTranscript(%q): %v", id, err)
	}
	return st
}

// checkStored compares what was read back with what was pushed.
func checkStored(t *testing.T, got store.StoredTranscript, want *transcript.Prepared) {
	t.Helper()
	if d := diffTranscript(want.Transcript, got.Transcript); d != "" {
		t.Errorf("transcript %q read back differs:\n%s", want.ExternalID, d)
	}
	if got.Metrics != want.Metrics {
		t.Errorf("transcript %q metrics = %+v, want %+v", want.ExternalID, got.Metrics, want.Metrics)
	}
	if !slices.Equal(got.AgentIDs, want.AgentIDs) {
		t.Errorf("transcript %q AgentIDs = %q, want %q", want.ExternalID, got.AgentIDs, want.AgentIDs)
	}
}

func diffTranscript(want, got transcript.Transcript) string {
	var d []string
	field := func(name string, w, g any) {
		if !reflect.DeepEqual(w, g) {
			d = append(d, fmt.Sprintf("  %s: got %#v, want %#v", name, g, w))
		}
	}
	timeField := func(name string, w, g time.Time) {
		if !w.Equal(g) {
			d = append(d, fmt.Sprintf("  %s: got %s, want %s", name, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano)))
		}
	}
	field("ExternalID", want.ExternalID, got.ExternalID)
	field("AgentID", want.AgentID, got.AgentID)
	field("Channel", want.Channel, got.Channel)
	field("CustomerID", want.CustomerID, got.CustomerID)
	field("CustomerTier", want.CustomerTier, got.CustomerTier)
	timeField("StartedAt", want.StartedAt, got.StartedAt)
	timeField("EndedAt", want.EndedAt, got.EndedAt)
	field("Tags", want.Tags, got.Tags)
	field("CSAT", want.CSAT, got.CSAT)
	field("TransferCount", want.TransferCount, got.TransferCount)
	field("Attributes", want.Attributes, got.Attributes)
	if len(want.Messages) != len(got.Messages) {
		d = append(d, fmt.Sprintf("  Messages: got %d, want %d", len(got.Messages), len(want.Messages)))
	} else {
		for i := range want.Messages {
			w, g := want.Messages[i], got.Messages[i]
			p := fmt.Sprintf("Messages[%d].", i)
			field(p+"Role", w.Role, g.Role)
			field(p+"Text", w.Text, g.Text)
			field(p+"AgentID", w.AgentID, g.AgentID)
			timeField(p+"SentAt", w.SentAt, g.SentAt)
		}
	}
	return strings.Join(d, "\n")
}

// window brackets a write: stored times must fall inside it (to the ms).
type window struct{ from, to time.Time }

func begin() window { return window{from: time.Now().Truncate(time.Millisecond)} }

func (w window) close() window { w.to = time.Now(); return w }

func (w window) check(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.Before(w.from) || got.After(w.to) {
		t.Errorf("%s = %s, want within [%s, %s]", what, got.Format(time.RFC3339Nano),
			w.from.Format(time.RFC3339Nano), w.to.Format(time.RFC3339Nano))
	}
}

func testReady(t *testing.T, s store.Store) {
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	// A second probe answers from the cached schema check the same way.
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready again: %v", err)
	}
}

func testUpsertAgentsOutcomes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := begin()
	out, err := s.UpsertAgents(ctx, []store.Agent{agent("a1")})
	if err != nil || !slices.Equal(out, []store.Outcome{store.Created}) {
		t.Fatalf("create: %v, %v", out, err)
	}
	w = w.close()
	got, err := s.GetAgent(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	created := got.UpdatedAt
	w.check(t, "UpdatedAt after create", created)
	got.UpdatedAt = time.Time{}
	if got != agent("a1") {
		t.Fatalf("GetAgent = %+v, want %+v", got, agent("a1"))
	}

	cases := []struct {
		name   string
		change func(a *store.Agent)
		want   store.Outcome
	}{
		{"same fields", func(*store.Agent) {}, store.Unchanged},
		{"name", func(a *store.Agent) { a.Name = "Renamed" }, store.Updated},
		{"same again", func(a *store.Agent) { a.Name = "Renamed" }, store.Unchanged},
		{"team", func(a *store.Agent) { a.Name, a.TeamID = "Renamed", "team-2" }, store.Updated},
		{"supervisor", func(a *store.Agent) { a.Name, a.TeamID, a.SupervisorID = "Renamed", "team-2", "sup-2" }, store.Updated},
		{"hired on cleared", func(a *store.Agent) { a.Name, a.TeamID, a.SupervisorID, a.HiredOn = "Renamed", "team-2", "sup-2", "" }, store.Updated},
		{"deactivated", func(a *store.Agent) {
			a.Name, a.TeamID, a.SupervisorID, a.HiredOn, a.Active = "Renamed", "team-2", "sup-2", "", false
		}, store.Updated},
		{"inactive unchanged", func(a *store.Agent) {
			a.Name, a.TeamID, a.SupervisorID, a.HiredOn, a.Active = "Renamed", "team-2", "sup-2", "", false
		}, store.Unchanged},
	}
	last := created
	for _, tc := range cases {
		a := agent("a1")
		tc.change(&a)
		w := begin()
		out, err := s.UpsertAgents(ctx, []store.Agent{a})
		w = w.close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(out, []store.Outcome{tc.want}) {
			t.Errorf("%s: outcome %v, want %v", tc.name, out, tc.want)
		}
		got, err := s.GetAgent(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == store.Updated {
			w.check(t, tc.name+": UpdatedAt", got.UpdatedAt)
		} else if !got.UpdatedAt.Equal(last) {
			t.Errorf("%s: UpdatedAt moved from %s to %s without a change", tc.name, last, got.UpdatedAt)
		}
		last = got.UpdatedAt
		got.UpdatedAt = time.Time{}
		if got != a {
			t.Errorf("%s: GetAgent = %+v, want %+v", tc.name, got, a)
		}
	}
}

func testUpsertAgentsInputOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "b", "d")
	changed := agent("d")
	changed.Name = "D changed"
	// Not sorted by id, so a backend that reorders internally must map back.
	out, err := s.UpsertAgents(ctx, []store.Agent{agent("e"), changed, agent("b"), agent("a")})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Outcome{store.Created, store.Updated, store.Unchanged, store.Created}
	if !slices.Equal(out, want) {
		t.Fatalf("outcomes = %v, want %v", out, want)
	}
	out, err = s.UpsertAgents(ctx, nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("empty UpsertAgents = %v, %v; want no outcomes, no error", out, err)
	}
}

func testEnsureAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	known := agent("known")
	known.Active = false
	if _, err := s.UpsertAgents(ctx, []store.Agent{known}); err != nil {
		t.Fatal(err)
	}
	before, err := s.GetAgent(ctx, "known")
	if err != nil {
		t.Fatal(err)
	}
	w := begin()
	// Duplicates and known ids are fine.
	if err := s.EnsureAgents(ctx, []string{"new1", "known", "new2", "new1"}); err != nil {
		t.Fatalf("EnsureAgents: %v", err)
	}
	w = w.close()
	after, err := s.GetAgent(ctx, "known")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("EnsureAgents changed a known agent: %+v, was %+v", after, before)
	}
	for _, id := range []string{"new1", "new2"} {
		got, err := s.GetAgent(ctx, id)
		if err != nil {
			t.Fatalf("GetAgent(%q) after EnsureAgents: %v", id, err)
		}
		w.check(t, id+" UpdatedAt", got.UpdatedAt)
		got.UpdatedAt = time.Time{}
		if want := (store.Agent{AgentID: id, Active: true}); got != want {
			t.Errorf("ensured agent = %+v, want %+v", got, want)
		}
	}
	// A full record later fills the minimal one in.
	out, err := s.UpsertAgents(ctx, []store.Agent{agent("new1")})
	if err != nil || !slices.Equal(out, []store.Outcome{store.Updated}) {
		t.Errorf("UpsertAgents over an ensured agent = %v, %v; want [updated]", out, err)
	}
	if err := s.EnsureAgents(ctx, nil); err != nil {
		t.Errorf("EnsureAgents(nil): %v", err)
	}
}

func testExistingAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	// More ids than one statement's worth, so chunking is exercised.
	var ids, query []string
	for i := range 1234 {
		ids = append(ids, fmt.Sprintf("agent-%05d", i))
	}
	if err := s.EnsureAgents(ctx, ids); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ids); i += 2 {
		query = append(query, ids[i])
	}
	for i := range 100 {
		query = append(query, fmt.Sprintf("ghost-%03d", i))
	}
	got, err := s.ExistingAgents(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != (len(ids)+1)/2 {
		t.Errorf("ExistingAgents found %d, want %d", len(got), (len(ids)+1)/2)
	}
	for _, id := range query {
		if got[id] != strings.HasPrefix(id, "agent-") {
			t.Errorf("ExistingAgents[%q] = %v", id, got[id])
		}
	}
	got, err = s.ExistingAgents(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("ExistingAgents(nil) = %v, %v", got, err)
	}
}

func testGetAgentNotFound(t *testing.T, s store.Store) {
	_, err := s.GetAgent(t.Context(), "nobody")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAgent(unknown) error = %v, want ErrNotFound", err)
	}
}

func testTranscriptRoundTrip(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2", "a3")
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	cases := []struct {
		name   string
		modify func(tr *transcript.Transcript)
		check  func(t *testing.T, st store.StoredTranscript)
	}{
		{name: "full", check: func(t *testing.T, st store.StoredTranscript) {
			// 1000 ms and 1501 ms: the mean keeps its half millisecond.
			if st.Metrics.MeanAgentResponse != 1250500*time.Microsecond {
				t.Errorf("MeanAgentResponse = %v, want 1.2505s", st.Metrics.MeanAgentResponse)
			}
			if st.Metrics.FirstResponse != time.Second || st.Metrics.AgentReplyCount != 2 {
				t.Errorf("metrics = %+v", st.Metrics)
			}
		}},
		{name: "no csat no tags no attributes", modify: func(tr *transcript.Transcript) {
			tr.CSAT, tr.Tags, tr.Attributes = 0, nil, nil
		}},
		{name: "csat 1 and 5 tags unsorted", modify: func(tr *transcript.Transcript) {
			tr.CSAT, tr.Tags = 1, []string{"z", "a", "m", "a"}
		}},
		{name: "customer only: no response", modify: func(tr *transcript.Transcript) {
			tr.Messages = []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "hello?", SentAt: at(0)},
				{Role: transcript.RoleCustomer, Text: "", SentAt: at(500)},
			}
		}, check: func(t *testing.T, st store.StoredTranscript) {
			m := st.Metrics
			if m.FirstResponse != transcript.NoResponse || m.MeanAgentResponse != transcript.NoResponse || m.AgentReplyCount != 0 {
				t.Errorf("metrics = %+v, want NoResponse", m)
			}
		}},
		{name: "instant reply is zero, not NoResponse", modify: func(tr *transcript.Transcript) {
			tr.Messages = []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "hi", SentAt: at(0)},
				{Role: transcript.RoleAgent, Text: "hi", SentAt: at(0)},
			}
		}, check: func(t *testing.T, st store.StoredTranscript) {
			if st.Metrics.FirstResponse != 0 || st.Metrics.MeanAgentResponse != 0 {
				t.Errorf("metrics = %+v, want zero responses", st.Metrics)
			}
		}},
		{name: "transfer with secondary authors", modify: func(tr *transcript.Transcript) {
			tr.AgentID, tr.TransferCount = "a1", 2
			tr.Messages = []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "退款", SentAt: at(0)},
				{Role: transcript.RoleAgent, AgentID: "a3", Text: "转接中", SentAt: at(1000)},
				{Role: transcript.RoleAgent, AgentID: "a2", Text: "refund team here", SentAt: at(2000)},
				{Role: transcript.RoleAgent, Text: "done", SentAt: at(3000)},
			}
		}, check: func(t *testing.T, st store.StoredTranscript) {
			if want := []string{"a1", "a3", "a2"}; !slices.Equal(st.AgentIDs, want) {
				t.Errorf("AgentIDs = %q, want %q", st.AgentIDs, want)
			}
		}},
		{name: "odd text", modify: func(tr *transcript.Transcript) {
			tr.Messages[2].Text = "emoji 🙂, quote ' \" ; -- DROP TABLE transcripts; \\ \t tab\nnewline"
			tr.Attributes = map[string]string{"k": "", "路径": "a'b"}
		}},
	}
	for i, tc := range cases {
		tr := conversation(fmt.Sprintf("rt-%d", i), "a1")
		if tc.modify != nil {
			tc.modify(&tr)
		}
		p := prepare(tr)
		w := begin()
		out := upsert(t, s, p)
		w = w.close()
		if out[0] != store.Created {
			t.Errorf("%s: outcome %v, want created", tc.name, out[0])
		}
		st := get(t, s, tr.ExternalID)
		t.Run(tc.name, func(t *testing.T) {
			checkStored(t, st, p)
			if st.Revision != 1 || st.Sampled {
				t.Errorf("Revision, Sampled = %d, %v; want 1, false", st.Revision, st.Sampled)
			}
			w.check(t, "IngestedAt", st.IngestedAt)
			if !st.UpdatedAt.Equal(st.IngestedAt) {
				t.Errorf("UpdatedAt %s != IngestedAt %s on create", st.UpdatedAt, st.IngestedAt)
			}
			if tc.check != nil {
				tc.check(t, st)
			}
		})
	}
}

func testTranscriptOutcomes(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	v1 := prepare(conversation("c1", "a1"))
	v2tr := conversation("c1", "a1")
	v2tr.Messages[4].Text = "edited reply"
	v2 := prepare(v2tr)
	v3tr := conversation("c1", "a2") // reassigned
	v3 := prepare(v3tr)

	type step struct {
		name     string
		do       func() // instead of a push
		push     *transcript.Prepared
		want     store.Outcome
		stored   *transcript.Prepared
		revision int64
		sampled  bool
		touched  bool // updated_at moves
	}
	steps := []step{
		{name: "create", push: v1, want: store.Created, stored: v1, revision: 1, touched: true},
		{name: "same content", push: v1, want: store.Unchanged, stored: v1, revision: 1},
		{name: "changed content", push: v2, want: store.Updated, stored: v2, revision: 2, touched: true},
		{name: "changed back", push: v1, want: store.Updated, stored: v1, revision: 3, touched: true},
		{name: "sample", do: func() {
			if err := s.MarkSampled(ctx, []string{"c1"}); err != nil {
				t.Fatal(err)
			}
		}, stored: v1, revision: 3, sampled: true},
		{name: "changed while sampled", push: v3, want: store.KeptSampled, stored: v1, revision: 3, sampled: true},
		{name: "same while sampled", push: v1, want: store.Unchanged, stored: v1, revision: 3, sampled: true},
	}
	var ingested, updated time.Time
	for _, st := range steps {
		w := begin()
		if st.do != nil {
			st.do()
		} else {
			out := upsert(t, s, st.push)
			if out[0] != st.want {
				t.Errorf("%s: outcome %v, want %v", st.name, out[0], st.want)
			}
		}
		w = w.close()
		got := get(t, s, "c1")
		checkStored(t, got, st.stored)
		if got.Revision != st.revision || got.Sampled != st.sampled {
			t.Errorf("%s: Revision, Sampled = %d, %v; want %d, %v", st.name, got.Revision, got.Sampled, st.revision, st.sampled)
		}
		if ingested.IsZero() {
			ingested = got.IngestedAt
		} else if !got.IngestedAt.Equal(ingested) {
			t.Errorf("%s: IngestedAt moved from %s to %s", st.name, ingested, got.IngestedAt)
		}
		if st.touched {
			w.check(t, st.name+": UpdatedAt", got.UpdatedAt)
		} else if !got.UpdatedAt.Equal(updated) {
			t.Errorf("%s: UpdatedAt moved from %s to %s", st.name, updated, got.UpdatedAt)
		}
		updated = got.UpdatedAt
	}
}

func testTranscriptMixedBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	mk := func(id, text string) *transcript.Prepared {
		tr := conversation(id, "a1")
		tr.Messages[4].Text = text
		return prepare(tr)
	}
	upsert(t, s, mk("same", "v1"), mk("upd", "v1"), mk("kept", "v1"))
	if err := s.MarkSampled(ctx, []string{"kept"}); err != nil {
		t.Fatal(err)
	}
	batch := []*transcript.Prepared{mk("zz-new", "v1"), mk("upd", "v2"), mk("same", "v1"), mk("kept", "v2"), mk("aa-new", "v1")}
	want := []store.Outcome{store.Created, store.Updated, store.Unchanged, store.KeptSampled, store.Created}
	if got := upsert(t, s, batch...); !slices.Equal(got, want) {
		t.Fatalf("outcomes = %v, want %v", got, want)
	}
	checkStored(t, get(t, s, "upd"), mk("upd", "v2"))
	checkStored(t, get(t, s, "kept"), mk("kept", "v1"))
	checkStored(t, get(t, s, "zz-new"), mk("zz-new", "v1"))
}

func testTranscriptLargeBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	const n = 1234 // several multi-row chunks
	mk := func(i int, text string) *transcript.Prepared {
		tr := conversation(fmt.Sprintf("big-%05d", (i*7919)%n), "a1") // not in id order
		tr.Messages[4].Text = text
		if i%10 == 0 {
			tr.Messages[6].AgentID = "a2"
		}
		return prepare(tr)
	}
	batch := make([]*transcript.Prepared, n)
	for i := range batch {
		batch[i] = mk(i, "v1")
	}
	for i, o := range upsert(t, s, batch...) {
		if o != store.Created {
			t.Fatalf("item %d: %v, want created", i, o)
		}
	}
	var sample []string
	for i := 0; i < n; i += 3 {
		sample = append(sample, batch[i].ExternalID)
	}
	if err := s.MarkSampled(ctx, sample); err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if i%2 == 0 {
			batch[i] = mk(i, "v2")
		}
	}
	out := upsert(t, s, batch...)
	for i, o := range out {
		var want store.Outcome
		switch {
		case i%2 == 1:
			want = store.Unchanged
		case i%3 == 0:
			want = store.KeptSampled
		default:
			want = store.Updated
		}
		if o != want {
			t.Errorf("item %d: %v, want %v", i, o, want)
		}
	}
	for _, i := range []int{0, 1, 2, 10, 20, n - 1} {
		want := batch[i]
		if i%6 == 0 {
			want = mk(i, "v1") // sampled, kept
		}
		checkStored(t, get(t, s, batch[i].ExternalID), want)
	}
}

func testSecondaryAgentsReplaced(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2", "a3", "a4")
	mk := func(helpers ...string) *transcript.Prepared {
		tr := conversation("xfer", "a1")
		for i, h := range helpers {
			tr.Messages = append(tr.Messages, transcript.Message{
				Role: transcript.RoleAgent, AgentID: h, Text: "helper " + h, SentAt: tr.EndedAt.Add(-time.Duration(len(helpers)-i) * time.Second),
			})
		}
		tr.TransferCount = len(helpers)
		return prepare(tr)
	}
	steps := []struct {
		push *transcript.Prepared
		want []string
	}{
		{mk("a2", "a3"), []string{"a1", "a2", "a3"}},
		{mk("a4", "a2"), []string{"a1", "a4", "a2"}},
		{mk(), []string{"a1"}},
		{mk("a3"), []string{"a1", "a3"}},
	}
	for i, st := range steps {
		upsert(t, s, st.push)
		got := get(t, s, "xfer")
		if !slices.Equal(got.AgentIDs, st.want) {
			t.Errorf("step %d: AgentIDs = %q, want %q", i, got.AgentIDs, st.want)
		}
		checkStored(t, got, st.push)
	}
}

func testFailedBatchWritesNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	v1 := prepare(conversation("existing", "a1"))
	upsert(t, s, v1)
	changed := conversation("existing", "a1")
	changed.Messages[4].Text = "changed"

	unknownSecondary := conversation("bad-helper", "a1")
	unknownSecondary.Messages[4].AgentID = "ghost"
	cases := []struct {
		name  string
		batch []*transcript.Prepared
	}{
		{"unknown agent last", []*transcript.Prepared{prepare(changed), prepare(conversation("new1", "a1")), prepare(conversation("bad", "ghost"))}},
		{"unknown agent first", []*transcript.Prepared{prepare(conversation("bad", "ghost")), prepare(conversation("new1", "a1"))}},
		{"unknown secondary author", []*transcript.Prepared{prepare(conversation("new1", "a1")), prepare(changed), prepare(unknownSecondary)}},
	}
	for _, tc := range cases {
		out, err := s.UpsertTranscripts(ctx, tc.batch)
		if err == nil {
			t.Errorf("%s: no error (outcomes %v)", tc.name, out)
			continue
		}
		for _, id := range []string{"new1", "bad", "bad-helper"} {
			if _, err := s.GetTranscript(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %q readable after a failed batch (err %v)", tc.name, id, err)
			}
		}
		got := get(t, s, "existing")
		checkStored(t, got, v1)
		if got.Revision != 1 {
			t.Errorf("%s: existing revision %d after a failed batch", tc.name, got.Revision)
		}
	}
	// The store is still usable.
	if out := upsert(t, s, prepare(changed)); out[0] != store.Updated {
		t.Errorf("after failures: %v, want updated", out[0])
	}
}

func testTranscriptNotFound(t *testing.T, s store.Store) {
	_, err := s.GetTranscript(t.Context(), "missing")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetTranscript(unknown) error = %v, want ErrNotFound", err)
	}
}

func testTranscriptEmptyBatch(t *testing.T, s store.Store) {
	out, err := s.UpsertTranscripts(t.Context(), nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("UpsertTranscripts(nil) = %v, %v", out, err)
	}
}

func testMarkSampled(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	upsert(t, s, prepare(conversation("m1", "a1")), prepare(conversation("m2", "a1")), prepare(conversation("m3", "a1")))
	before := get(t, s, "m1")
	if err := s.MarkSampled(ctx, []string{"m1", "nope", "m3", "m1"}); err != nil {
		t.Fatalf("MarkSampled: %v", err)
	}
	for id, want := range map[string]bool{"m1": true, "m2": false, "m3": true} {
		if got := get(t, s, id); got.Sampled != want {
			t.Errorf("%s Sampled = %v, want %v", id, got.Sampled, want)
		}
	}
	after := get(t, s, "m1")
	if after.Revision != before.Revision {
		t.Errorf("MarkSampled changed the revision %d -> %d", before.Revision, after.Revision)
	}
	if err := s.MarkSampled(ctx, []string{"m1"}); err != nil {
		t.Errorf("MarkSampled again: %v", err)
	}
	if err := s.MarkSampled(ctx, nil); err != nil {
		t.Errorf("MarkSampled(nil): %v", err)
	}
	if _, err := s.GetTranscript(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkSampled created %q: %v", "nope", err)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	if toks, err := s.ListTokens(ctx); err != nil || len(toks) != 0 {
		t.Fatalf("ListTokens on an empty store = %v, %v", toks, err)
	}
	mk := func(id string, role store.Role, created time.Time) store.Token {
		return store.Token{ID: id, SecretHash: []byte("hash-of-" + id + "\x00\xff"), Role: role, Subject: "subj-" + id, CreatedAt: created}
	}
	// Created out of time order; ms-truncated so they compare equal after
	// the round trip.
	t0 := base.Truncate(time.Millisecond)
	toks := []store.Token{
		mk("tok-b", store.RoleInspector, t0.Add(2*time.Hour)),
		mk("tok-a", store.RoleAdmin, t0),
		mk("tok-c", store.RoleSupervisor, t0.Add(time.Hour)),
		mk("tok-d", store.RoleIngest, t0.Add(3*time.Hour)),
	}
	for _, tok := range toks {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok.ID, err)
		}
	}
	dup := mk("tok-a", store.RoleIngest, t0.Add(time.Minute))
	if err := s.CreateToken(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateToken(duplicate id) error = %v, want ErrConflict", err)
	}
	got, err := s.GetToken(ctx, "tok-a")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, toks[1]) {
		t.Fatalf("GetToken = %+v, want %+v (the duplicate must not overwrite)", got, toks[1])
	}

	revokedAt := t0.Add(5 * time.Hour)
	if err := s.RevokeToken(ctx, "tok-c", revokedAt); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if err := s.RevokeToken(ctx, "tok-c", revokedAt.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeToken again: %v", err)
	}
	got, err = s.GetToken(ctx, "tok-c")
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("RevokedAt = %s, want the first revocation %s", got.RevokedAt, revokedAt)
	}

	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tok := range list {
		ids = append(ids, tok.ID)
	}
	if want := []string{"tok-a", "tok-c", "tok-b", "tok-d"}; !slices.Equal(ids, want) {
		t.Fatalf("ListTokens order = %q, want oldest first %q", ids, want)
	}
	for _, tok := range list {
		if revoked := !tok.RevokedAt.IsZero(); revoked != (tok.ID == "tok-c") {
			t.Errorf("%s revoked = %v", tok.ID, revoked)
		}
		if tok.ID == "tok-b" && !reflect.DeepEqual(tok, toks[0]) {
			t.Errorf("listed %+v, want %+v", tok, toks[0])
		}
	}
}

func testTokenNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetToken(unknown) error = %v, want ErrNotFound", err)
	}
	if err := s.RevokeToken(ctx, "nope", base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeToken(unknown) error = %v, want ErrNotFound", err)
	}
}

// testConcurrentUpserts has several writers push overlapping batches while
// readers read: every call must succeed, and each shared transcript must be
// created exactly once.
func testConcurrentUpserts(t *testing.T, s store.Store) {
	ctx := t.Context()
	const (
		writers = 6
		batches = 5
		perPush = 40
		shared  = 30
	)
	mustUpsertAgents(t, s, "a0")
	var mu sync.Mutex
	outcomes := make(map[string][]store.Outcome)
	var wg sync.WaitGroup
	errs := make(chan error, 3*writers)
	for w := range writers {
		wg.Go(func() {
			own := fmt.Sprintf("w%d", w)
			// Each writer also creates agents concurrently, some shared.
			if err := ensure(ctx, s, []string{own, "common", "a0"}); err != nil {
				errs <- err
				return
			}
			for b := range batches {
				var batch []*transcript.Prepared
				for i := range perPush {
					batch = append(batch, prepare(conversation(fmt.Sprintf("%s-%d-%d", own, b, i), own)))
				}
				// Shared ids, identical content, in a writer-specific order.
				for i := range shared {
					j := (i + 5*w + b) % shared
					if w%2 == 1 {
						j = shared - 1 - j
					}
					batch = append(batch, prepare(conversation(fmt.Sprintf("shared-%d", j), "common")))
				}
				out, err := s.UpsertTranscripts(ctx, batch)
				if err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
				mu.Lock()
				for i, p := range batch {
					outcomes[p.ExternalID] = append(outcomes[p.ExternalID], out[i])
				}
				mu.Unlock()
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for i := range 50 {
				_, err := s.GetTranscript(ctx, fmt.Sprintf("shared-%d", i%shared))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if want := writers*batches*perPush + shared; len(outcomes) != want {
		t.Errorf("%d distinct transcripts, want %d", len(outcomes), want)
	}
	for id, outs := range outcomes {
		created := 0
		for _, o := range outs {
			switch o {
			case store.Created:
				created++
			case store.Unchanged:
			default:
				t.Errorf("%s: unexpected outcome %v", id, o)
			}
		}
		if created != 1 {
			t.Errorf("%s: created %d times (outcomes %v)", id, created, outs)
		}
	}
	st := get(t, s, "shared-0")
	checkStored(t, st, prepare(conversation("shared-0", "common")))
	if st.Revision != 1 {
		t.Errorf("shared-0 revision %d, want 1", st.Revision)
	}
}

// ensure is EnsureAgents with an error that names the call.
func ensure(ctx context.Context, s store.Store, ids []string) error {
	if err := s.EnsureAgents(ctx, ids); err != nil {
		return fmt.Errorf("EnsureAgents(%q): %w", ids, err)
	}
	return nil
}

func testDictionaries(t *testing.T, s store.Store) {
	ctx := t.Context()
	if ds, err := s.Dictionaries(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("Dictionaries on an empty store = %v, %v", ds, err)
	}
	first := transcript.Dictionary{ID: 40001, Data: []byte("first\x00\xffdictionary")}
	second := transcript.Dictionary{ID: 40000, Data: []byte("second")}
	for _, d := range []transcript.Dictionary{first, second} {
		if err := s.AddDictionary(ctx, d); err != nil {
			t.Fatalf("AddDictionary(%d): %v", d.ID, err)
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	if err := s.AddDictionary(ctx, transcript.Dictionary{ID: first.ID, Data: []byte("other")}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AddDictionary(existing id) = %v, want ErrConflict", err)
	}
	got, err := s.Dictionaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []transcript.Dictionary{first, second}) {
		t.Fatalf("Dictionaries = %v, want oldest first %v", got, []transcript.Dictionary{first, second})
	}
}

func testSampleBodies(t *testing.T, s store.Store) {
	ctx := t.Context()
	if bodies, err := s.SampleBodies(ctx, 10); err != nil || len(bodies) != 0 {
		t.Fatalf("SampleBodies on an empty store = %d bodies, %v", len(bodies), err)
	}
	if err := ensure(ctx, s, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	var items []*transcript.Prepared
	for i := range 5 {
		items = append(items, prepare(conversation(fmt.Sprintf("sample-%d", i), "a1")))
	}
	if _, err := s.UpsertTranscripts(ctx, items); err != nil {
		t.Fatal(err)
	}
	bodies, err := s.SampleBodies(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 {
		t.Fatalf("SampleBodies(3) returned %d bodies", len(bodies))
	}
	for i, b := range bodies { // the newest first
		if want := items[4-i].Body; !bytes.Equal(b, want) {
			t.Fatalf("body %d is not that of the %d-th newest transcript", i, i+1)
		}
	}
}

func testListAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.ListAgents(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListAgents on an empty store = %v, %v", got, err)
	}
	inactive := agent("b2")
	inactive.Active = false
	if _, err := s.UpsertAgents(ctx, []store.Agent{agent("c3"), inactive, agent("a1")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAgents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.AgentID)
		if a.AgentID == "b2" && a.Active {
			t.Error("b2 listed as active")
		}
		if a.TeamID != "team-1" || a.SupervisorID != "sup-1" || a.HiredOn != "2024-03-01" {
			t.Errorf("agent %s lost fields: %+v", a.AgentID, a)
		}
	}
	if !reflect.DeepEqual(ids, []string{"a1", "b2", "c3"}) {
		t.Fatalf("ListAgents ids = %v, want a1 b2 c3 (inactive included, by id)", ids)
	}
}
