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
	"qa-sampling/sampler"
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
	var revealed [][]byte  // and seeds
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
		revealed = append(revealed, mustHex(t, r.GetRun().GetSeed()))
		return pickSummary(picks.GetPicks())
	}

	// The first preview reads the week from the index and keeps it in
	// hour blocks with the keys under the week's seed (SQLite); the second
	// and the run read those blocks and their keys.
	blocks := func() (read, built int64) {
		read, built, _ = env.store.BlockStats()
		return read, built
	}
	_, built0 := blocks()
	first := preview()
	if len(first.GetPicks()) < 6 || len(first.GetSeedCommitment()) != 64 {
		t.Fatalf("preview: %d picks, commitment %q; want picks and a SHA-256", len(first.GetPicks()), first.GetSeedCommitment())
	}
	read1, built1 := blocks()
	if built1-built0 < 7*24 {
		t.Errorf("the first preview built %d hour blocks, want the week's", built1-built0)
	}
	if again := preview(); again.GetSeedCommitment() != first.GetSeedCommitment() ||
		!sameSet(pickSummary(again.GetPicks()), pickSummary(first.GetPicks())) {
		t.Errorf("a second preview, from blocks, differs from the first: %v, want %v", pickSummary(again.GetPicks()), pickSummary(first.GetPicks()))
	}
	read2, built2 := blocks()
	if built2 != built1 || read2-read1 < 7*24 {
		t.Errorf("the second preview built %d blocks and read %d; want the week read from blocks", built2-built1, read2-read1)
	}
	ranPicks := run()
	if !sameSet(ranPicks, pickSummary(first.GetPicks())) {
		t.Errorf("run picked %v; the preview showed %v", ranPicks, pickSummary(first.GetPicks()))
	}
	if read3, built3 := blocks(); built3 != built2 || read3-read2 < 7*24 {
		t.Errorf("the run built %d blocks and read %d; want the week read from blocks", built3-built2, read3-read2)
	}
	// The keys the blocks handed over are the seed's, as the run reveals it.
	for _, p := range first.GetPicks() {
		if want := sampler.KeyHex(sampler.Key(revealed[0], p.GetExternalId())); p.GetKey() != want {
			t.Errorf("preview pick %s keyed %s; under the run's seed its key is %s", p.GetExternalId(), p.GetKey(), want)
		}
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

// In a zone whose weeks start on a half hour (India), a week's first and
// last half hours are read from the index beside the blocks of its whole
// UTC hours: two previews (the second from blocks) and the run pick the
// same chats with the same keys, chats of the edge half hours among the
// candidates, and the keys are the revealed seed's.
func TestPreviewFromBlocksInAHalfHourZone(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	admin, ingestCtx := env.as(store.RoleAdmin, "lead"), env.as(store.RoleIngest, "platform")
	ingest, sampling := qav1.NewIngestServiceClient(env.conn), qav1.NewSamplingServiceClient(env.conn)
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{
		{AgentId: "agent-a", Name: "A", TeamId: "team-1", SupervisorId: "sup-a", HiredOn: "2020-01-01"},
	}}); err != nil {
		t.Fatal(err)
	}
	pol, err := sampling.GetPolicy(admin, &qav1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	next := proto.CloneOf(pol.GetPolicy())
	next.TimeZone = "Asia/Kolkata"
	next.RandomPerAgent = 40 // more than the week holds: every chat is picked
	if _, err := sampling.UpdatePolicy(admin, &qav1.UpdatePolicyRequest{Policy: next}); err != nil {
		t.Fatal(err)
	}
	// 2026-W46 in India is [2026-11-08 18:30, 2026-11-15 18:30) UTC.
	weekStart := time.Date(2026, 11, 8, 18, 30, 0, 0, time.UTC)
	starts := []time.Time{
		weekStart.Add(time.Minute),                     // ends in the first half hour
		weekStart.Add(7*24*time.Hour - 20*time.Minute), // ends in the last
		weekStart.Add(-20 * time.Minute),               // ends before the week
		weekStart.Add(7 * 24 * time.Hour),              // ends after it
	}
	for i := range 20 {
		starts = append(starts, weekStart.Add(time.Duration(i)*8*time.Hour+17*time.Minute))
	}
	for i, at := range starts {
		if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: testChat(fmt.Sprintf("in-%02d", i), "agent-a", at)}); err != nil {
			t.Fatal(err)
		}
	}
	preview := func() []string {
		t.Helper()
		p, err := sampling.PreviewWeek(admin, &qav1.PreviewWeekRequest{Week: flowWeek})
		if err != nil {
			t.Fatal(err)
		}
		return pickSummary(p.GetPicks())
	}
	first := preview()
	_, built, _ := env.store.BlockStats()
	second := preview()
	read, built2, _ := env.store.BlockStats()
	if !sameSet(first, second) {
		t.Errorf("the second preview, from blocks, %v; the first %v", second, first)
	}
	if built == 0 || built2 != built || read == 0 {
		t.Errorf("blocks: %d built by the first preview, %d by the second, %d read; want the second from blocks", built, built2-built, read)
	}
	r, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek})
	if err != nil {
		t.Fatal(err)
	}
	picks, err := sampling.ListPicks(admin, &qav1.ListPicksRequest{RunId: r.GetRun().GetId(), PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ran := pickSummary(picks.GetPicks())
	if !sameSet(ran, first) {
		t.Errorf("run picked %v; the previews showed %v", ran, first)
	}
	seed := mustHex(t, r.GetRun().GetSeed())
	ids := map[string]bool{}
	for _, p := range picks.GetPicks() {
		ids[p.GetExternalId()] = true
		if want := sampler.KeyHex(sampler.Key(seed, p.GetExternalId())); p.GetKey() != want {
			t.Errorf("pick %s keyed %s; under the run's seed its key is %s", p.GetExternalId(), p.GetKey(), want)
		}
	}
	if len(ids) != len(starts)-2 || !ids["in-00"] || !ids["in-01"] || ids["in-02"] || ids["in-03"] {
		t.Errorf("the run picked %d chats (%v); want the %d of the week, its first and last half hours' among them", len(ids), ids, len(starts)-2)
	}
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
