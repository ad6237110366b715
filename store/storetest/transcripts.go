package storetest

import (
	"errors"
	"fmt"
	"qa-sampling/store"
	"qa-sampling/transcript"
	"slices"
	"sync"
	"testing"
	"time"
)

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
		{name: "handed over: the owner wrote nothing", modify: func(tr *transcript.Transcript) {
			tr.AgentID, tr.TransferCount = "a1", 1
			tr.Messages = []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "退款", SentAt: at(0)},
				{Role: transcript.RoleAgent, AgentID: "a3", Text: "您好", SentAt: at(1000)},
				{Role: transcript.RoleAgent, AgentID: "a2", Text: "refund team here", SentAt: at(2000)},
			}
		}, check: func(t *testing.T, st store.StoredTranscript) {
			if want := []string{"a3", "a2"}; !slices.Equal(st.AgentIDs, want) {
				t.Errorf("AgentIDs = %q, want %q (not the owner, who wrote nothing)", st.AgentIDs, want)
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
