package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// pickSummary is what a preview and a run must agree on about a pick.
func pickSummary(picks []*qav1.Pick) []string {
	out := make([]string, len(picks))
	for i, p := range picks {
		out[i] = fmt.Sprintf("%s/%s/%s/%d/%s", p.GetExternalId(), p.GetAgentId(), p.GetReason(), p.GetRank(), p.GetKey())
	}
	return out
}

func sameSet(a, b []string) bool {
	seen := make(map[string]int, len(a))
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

// A preview drew its own seed, so only some of its picks were the run's,
// and a preview of a run week showed picks the run never made. Now the
// week's seed is stored on its first use: previews show its commitment
// and the run's picks, the run reveals the seed, and a second policy
// version of the week keeps it.
func TestPreviewShowsTheRunsPicksAndCommitsToItsSeed(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	admin, ingestCtx := env.as(store.RoleAdmin, "lead"), env.as(store.RoleIngest, "platform")
	ingest, sampling := qav1.NewIngestServiceClient(env.conn), qav1.NewSamplingServiceClient(env.conn)
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{
		{AgentId: "agent-a", Name: "A", TeamId: "team-1", SupervisorId: "sup-a", HiredOn: "2020-01-01"},
		{AgentId: "agent-b", Name: "B", TeamId: "team-1", SupervisorId: "sup-b", HiredOn: "2020-01-01"},
	}}); err != nil {
		t.Fatal(err)
	}
	// 3 random picks of 15 chats an agent: another seed picks others.
	for i := range 30 {
		agent := []string{"agent-a", "agent-b"}[i%2]
		chat := testChat(fmt.Sprintf("c%02d", i), agent, flowChatStart.Add(time.Duration(i)*time.Hour))
		if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: chat}); err != nil {
			t.Fatal(err)
		}
	}
	var committed []string // the runs' commitments
	preview := func() *qav1.PreviewWeekResponse {
		t.Helper()
		p, err := sampling.PreviewWeek(admin, &qav1.PreviewWeekRequest{Week: flowWeek})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func() []string {
		t.Helper()
		r, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek})
		if err != nil {
			t.Fatal(err)
		}
		picks, err := sampling.ListPicks(admin, &qav1.ListPicksRequest{RunId: r.GetRun().GetId(), PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(mustHex(t, r.GetRun().GetSeed()))
		if got := r.GetRun().GetSeedCommitment(); got != hex.EncodeToString(sum[:]) || got == "" {
			t.Errorf("run commitment %q is not the SHA-256 of its seed %s", got, r.GetRun().GetSeed())
		}
		committed = append(committed, r.GetRun().GetSeedCommitment())
		return pickSummary(picks.GetPicks())
	}

	first := preview()
	if len(first.GetPicks()) < 6 || len(first.GetSeedCommitment()) != 64 {
		t.Fatalf("preview: %d picks, commitment %q; want picks and a SHA-256", len(first.GetPicks()), first.GetSeedCommitment())
	}
	if again := preview(); again.GetSeedCommitment() != first.GetSeedCommitment() ||
		!sameSet(pickSummary(again.GetPicks()), pickSummary(first.GetPicks())) {
		t.Errorf("a second preview differs from the first")
	}
	ranPicks := run()
	if !sameSet(ranPicks, pickSummary(first.GetPicks())) {
		t.Errorf("run picked %v; the preview showed %v", ranPicks, pickSummary(first.GetPicks()))
	}
	if committed[0] != first.GetSeedCommitment() {
		t.Errorf("the run's seed has commitment %s; the preview committed to %s", committed[0], first.GetSeedCommitment())
	}
	// Once run, a preview shows what a top-up would add now: nothing, no
	// chat having arrived since.
	if after := preview(); len(after.GetPicks()) != 0 || after.GetTopUpOfRun() == 0 || after.GetSeedCommitment() != committed[0] {
		t.Errorf("preview of the run week shows %v as a top-up of run %d, commitment %s; want nothing to add to the run, commitment %s",
			pickSummary(after.GetPicks()), after.GetTopUpOfRun(), after.GetSeedCommitment(), committed[0])
	}

	// A new policy version for the week: same seed, and its preview is
	// again its run.
	pol, err := sampling.GetPolicy(admin, &qav1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	next := proto.CloneOf(pol.GetPolicy())
	next.RandomPerAgent++
	if _, err := sampling.UpdatePolicy(admin, &qav1.UpdatePolicyRequest{Policy: next}); err != nil {
		t.Fatal(err)
	}
	second := preview()
	if second.GetPolicyVersion() == first.GetPolicyVersion() || second.GetSeedCommitment() != first.GetSeedCommitment() {
		t.Fatalf("preview under the new policy: version %d, commitment %s; want a new version and the week's commitment %s",
			second.GetPolicyVersion(), second.GetSeedCommitment(), first.GetSeedCommitment())
	}
	if got := run(); !sameSet(got, pickSummary(second.GetPicks())) {
		t.Errorf("second run picked %v; its preview showed %v", got, pickSummary(second.GetPicks()))
	}
	if committed[1] != committed[0] {
		t.Errorf("the second policy version's run has another seed")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		t.Fatalf("seed %q: %v", s, err)
	}
	return b
}

// Two first previews at once (as on two replicas) commit to one seed.
func TestConcurrentFirstPreviewsAgree(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	admin := env.as(store.RoleAdmin, "lead")
	sampling := qav1.NewSamplingServiceClient(env.conn)
	const previews = 4
	got := make([]string, previews)
	errs := make([]error, previews)
	var wg sync.WaitGroup
	for i := range previews {
		wg.Go(func() {
			p, err := sampling.PreviewWeek(admin, &qav1.PreviewWeekRequest{Week: flowWeek})
			got[i], errs[i] = p.GetSeedCommitment(), err
		})
	}
	wg.Wait()
	for i := range previews {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i] != got[0] || len(got[i]) != 64 {
			t.Errorf("concurrent first previews committed to %q and %q; want one seed", got[0], got[i])
		}
	}
}
