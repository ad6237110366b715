package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"qa-sampling/internal/importfile"
	"qa-sampling/internal/stardata"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/transcript"
)

// loadSTAR writes the STAR subset in the import format and imports it.
func loadSTAR(t *testing.T, srv *server, ingestToken string) []importfile.Agent {
	t.Helper()
	dialogues, err := stardata.LoadSubset()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var ts []transcript.Transcript
	for _, d := range dialogues {
		if tr := stardata.Convert(d); len(tr.Messages) > 0 {
			ts = append(ts, tr)
		}
	}
	agents := stardata.Agents(dialogues)
	write := func(name string, fn func(*os.File) error) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(f); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
		return path
	}
	agentsFile := write("agents.jsonl", func(f *os.File) error { return importfile.WriteAgentsJSONL(f, agents) })
	transcriptsFile := write("transcripts.jsonl", func(f *os.File) error { return importfile.WriteTranscriptsJSONL(f, ts) })
	if out, errOut, code := srv.qactl(ingestToken, "agents", "import", "--file", agentsFile); code != 0 {
		t.Fatalf("agents import: %d %s %s", code, out, errOut)
	}
	if out, errOut, code := srv.qactl(ingestToken, "ingest", "--file", transcriptsFile); code != 0 {
		t.Fatalf("ingest: %d %s %s", code, out, errOut)
	}
	return agents
}

type pickJSON struct {
	ID          string `json:"id"` // int64 is a string in protojson
	ExternalID  string `json:"external_id"`
	AgentID     string `json:"agent_id"`
	Reason      string `json:"reason"`
	InspectorID string `json:"inspector_id"`
	Status      string `json:"status"`
}

func parsePicks(t *testing.T, out string) []pickJSON {
	t.Helper()
	var picks []pickJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var p pickJSON
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("pick line %q: %v", sc.Text(), err)
		}
		picks = append(picks, p)
	}
	return picks
}

// TestWeeklySamplingThroughQactl drives issue 3's flow as an admin and an
// inspector would, on the real STAR dialogues (ISO weeks 2020-W20..W22).
func TestWeeklySamplingThroughQactl(t *testing.T) {
	srv := startServer(t, backends(t)[0].dsn, "--sample-schedule", "off")
	admin := srv.token("admin", "qa-lead")
	agents := loadSTAR(t, srv, srv.token("ingest", "star-bridge"))
	supervisorOf := map[string]string{}
	for _, a := range agents {
		supervisorOf[a.AgentID] = a.SupervisorID
	}
	for _, id := range []string{"insp-1", "insp-2", "sup-1"} { // sup-1 also supervises team-1
		if out, errOut, code := srv.qactl(admin, "inspector", "add", id, "--name", "Inspector "+id); code != 0 {
			t.Fatalf("inspector add %s: %s %s", id, out, errOut)
		}
	}

	// The policy: the default on first read; an invalid one is refused
	// naming the field; a valid one becomes the next version.
	out, errOut, code := srv.qactl(admin, "--json", "policy", "get")
	if code != 0 || !strings.Contains(out, `"random_per_agent":3`) || !strings.Contains(out, `"time_zone":"Asia/Shanghai"`) {
		t.Fatalf("policy get: %d %s %s", code, out, errOut)
	}
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(strings.Replace(out, `"random_per_agent":3`, `"random_per_agent":-1`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := srv.qactl(admin, "policy", "set", "--file", policyFile); code != 3 || !strings.Contains(errOut, "policy.random_per_agent") {
		t.Fatalf("invalid policy: %d %s; want INVALID_ARGUMENT naming policy.random_per_agent", code, errOut)
	}
	if err := os.WriteFile(policyFile, []byte(strings.Replace(out, `"new_hire_extra":2`, `"new_hire_extra":2`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := srv.qactl(admin, "--json", "policy", "set", "--file", policyFile); code != 0 || !strings.Contains(out, `"version":"1"`) {
		t.Fatalf("storing an unchanged policy: %d %s %s; want version 1 again", code, out, errOut)
	}
	if err := os.WriteFile(policyFile, []byte(strings.Replace(out, `"new_hire_extra":2`, `"new_hire_extra":1`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := srv.qactl(admin, "--json", "policy", "set", "--file", policyFile); code != 0 || !strings.Contains(out, `"version":"2"`) || !strings.Contains(out, `"new_hire_extra":1`) {
		t.Fatalf("storing a changed policy: %d %s %s; want version 2", code, out, errOut)
	}

	// A preview stores nothing.
	out, errOut, code = srv.qactl(admin, "--json", "sample", "run", "--week", "2020-W21", "--dry-run")
	if code != 0 || !strings.Contains(out, `"picks"`) {
		t.Fatalf("dry run: %d %s %s", code, out, errOut)
	}
	if out, _, _ := srv.qactl(admin, "--json", "sample", "list", "--week", "2020-W21"); strings.TrimSpace(out) != "" {
		t.Fatalf("picks stored by a dry run:\n%s", out)
	}

	var preview struct {
		SeedCommitment string     `json:"seed_commitment"`
		Picks          []pickJSON `json:"picks"`
	}
	if err := json.Unmarshal([]byte(out), &preview); err != nil || len(preview.SeedCommitment) != 64 {
		t.Fatalf("dry run's JSON %q: %v; want a seed_commitment", out, err)
	}
	if text, _, _ := srv.qactl(admin, "sample", "run", "--week", "2020-W21", "--dry-run"); !strings.Contains(text, "seed commitment "+preview.SeedCommitment) {
		t.Fatalf("dry run's text does not show the commitment %s:\n%s", preview.SeedCommitment, text)
	}

	out, errOut, code = srv.qactl(admin, "sample", "run", "--week", "2020-W21")
	if code != 0 || !strings.Contains(out, "created") {
		t.Fatalf("sample run: %d %s %s", code, out, errOut)
	}
	// The run reveals the seed the preview committed to.
	if !strings.Contains(out, "seed commitment "+preview.SeedCommitment) {
		t.Fatalf("run does not show the preview's commitment %s:\n%s", preview.SeedCommitment, out)
	}
	_, seedHex, _ := strings.Cut(out, ", seed ")
	seed, err := hex.DecodeString(strings.Fields(seedHex)[0])
	if sum := sha256.Sum256(seed); err != nil || hex.EncodeToString(sum[:]) != preview.SeedCommitment {
		t.Fatalf("revealed seed %q (%v) does not hash to the commitment %s", seedHex, err, preview.SeedCommitment)
	}
	again, _, _ := srv.qactl(admin, "sample", "run", "--week", "2020-W21")
	if !strings.Contains(again, "already existed") || strings.Fields(again)[1] != strings.Fields(out)[1] {
		t.Fatalf("second run of the week:\n%s\nfirst:\n%s", again, out)
	}

	out, _, _ = srv.qactl(admin, "--json", "sample", "list", "--week", "2020-W21")
	picks := parsePicks(t, out)
	if len(picks) == 0 {
		t.Fatal("no picks for 2020-W21")
	}
	previewed := map[[2]string]bool{}
	for _, p := range preview.Picks {
		previewed[[2]string{p.ExternalID, p.AgentID}] = true
	}
	for _, p := range picks {
		if !previewed[[2]string{p.ExternalID, p.AgentID}] {
			t.Errorf("the run picked %s for %s; the preview did not", p.ExternalID, p.AgentID)
		}
	}
	if len(picks) != len(preview.Picks) {
		t.Errorf("the run picked %d, the preview showed %d", len(picks), len(preview.Picks))
	}
	perAgent := map[string]int{}
	seen := map[[2]string]bool{}
	for _, p := range picks {
		perAgent[p.AgentID]++
		if seen[[2]string{p.ExternalID, p.AgentID}] {
			t.Fatalf("%s picked twice for %s", p.ExternalID, p.AgentID)
		}
		seen[[2]string{p.ExternalID, p.AgentID}] = true
		if p.Status != "assigned" || p.InspectorID == "" {
			t.Errorf("pick %s: status %q inspector %q; three inspectors should take every pick", p.ID, p.Status, p.InspectorID)
		}
		if p.InspectorID == supervisorOf[p.AgentID] {
			t.Errorf("pick %s of %s assigned to the agent's own supervisor %s", p.ID, p.AgentID, p.InspectorID)
		}
	}
	for agent, n := range perAgent {
		if n > 5+2 {
			t.Errorf("agent %s got %d picks; the quota is at most 7 (5, +2 for a new hire)", agent, n)
		}
	}
	filtered := parsePicks(t, func() string {
		o, _, _ := srv.qactl(admin, "--json", "sample", "list", "--week", "2020-W21", "--agent", picks[0].AgentID)
		return o
	}())
	if len(filtered) != perAgent[picks[0].AgentID] {
		t.Fatalf("--agent filter: %d picks, want %d", len(filtered), perAgent[picks[0].AgentID])
	}

	// An inspector sees exactly their own items.
	insp := srv.token("inspector", "insp-1")
	out, _, _ = srv.qactl(insp, "--json", "review", "queue")
	queue := parsePicks(t, out)
	want := 0
	for _, p := range picks {
		if p.InspectorID == "insp-1" {
			want++
		}
	}
	if len(queue) != want || want == 0 {
		t.Fatalf("insp-1 queue has %d items, %d assigned to insp-1", len(queue), want)
	}
	for _, p := range queue {
		if p.InspectorID != "insp-1" {
			t.Fatalf("insp-1 sees another inspector's item %+v", p)
		}
	}
	// Another inspector's item is not found; skip needs a reason.
	var foreign string
	for _, p := range picks {
		if p.InspectorID != "insp-1" {
			foreign = p.ID
			break
		}
	}
	if _, errOut, code := srv.qactl(insp, "review", "release", foreign); code != 3 || !strings.Contains(errOut, "NOT_FOUND") {
		t.Fatalf("releasing another's item: %d %s", code, errOut)
	}
	out, errOut, code = srv.qactl(insp, "review", "skip", queue[0].ID, "--reason", "spam")
	if code != 0 || !strings.Contains(out, "skipped "+queue[0].ID) {
		t.Fatalf("skip: %d %s %s", code, out, errOut)
	}
	t.Logf("skip: %s", strings.TrimSpace(out))
	// The replacement, if any is left, is the same agent's next pick for the
	// same reason, in the skipper's queue.
	if strings.Contains(out, "replaced by") {
		after, _, _ := srv.qactl(insp, "--json", "review", "queue")
		var replacement *pickJSON
		for _, p := range parsePicks(t, after) {
			if !seen[[2]string{p.ExternalID, p.AgentID}] {
				replacement = &p
			}
		}
		if replacement == nil || replacement.AgentID != queue[0].AgentID || replacement.Reason != queue[0].Reason {
			t.Fatalf("replacement %+v for skipped %+v: want a new pick of the same agent and reason in insp-1's queue", replacement, queue[0])
		}
	} else if !strings.Contains(out, "no replacement left") {
		t.Fatalf("skip output %q says neither", out)
	}
	// A released item goes straight to another eligible inspector.
	if out, errOut, code := srv.qactl(insp, "review", "release", queue[1].ID); code != 0 {
		t.Fatalf("release: %d %s %s", code, out, errOut)
	}
	out, _, _ = srv.qactl(admin, "--json", "sample", "list", "--week", "2020-W21", "--agent", queue[1].AgentID)
	for _, p := range parsePicks(t, out) {
		if p.ID != queue[1].ID {
			continue
		}
		if p.Status != "assigned" || p.InspectorID == "insp-1" || p.InspectorID == "" || p.InspectorID == supervisorOf[p.AgentID] {
			t.Fatalf("released item now %+v; want it assigned to another inspector, not the agent's supervisor", p)
		}
	}

	// Roles: a supervisor may not run sampling, an inspector may not list picks.
	sup := srv.token("supervisor", "sup-2")
	if _, errOut, code := srv.qactl(sup, "sample", "run", "--week", "2020-W22"); code != 3 || !strings.Contains(errOut, "PERMISSION_DENIED") {
		t.Fatalf("supervisor running sampling: %d %s", code, errOut)
	}
	if _, errOut, code := srv.qactl(insp, "sample", "list", "--week", "2020-W21"); code != 3 || !strings.Contains(errOut, "PERMISSION_DENIED") {
		t.Fatalf("inspector listing picks: %d %s", code, errOut)
	}
}

// TestTwoReplicasRunAWeekOnce fires RunWeek at two servers on one database
// at once: one run, created by one of them, its picks written once.
func TestTwoReplicasRunAWeekOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			a := startServer(t, b.dsn, "--sample-schedule", "off")
			c := startServer(t, b.dsn, "--sample-schedule", "off")
			admin := a.token("admin", "lead")
			loadSTAR(t, a, a.token("ingest", "bridge"))
			if _, _, code := a.qactl(admin, "inspector", "add", "insp-1", "--name", "One"); code != 0 {
				t.Fatal("inspector add failed")
			}
			ctx := withToken(context.Background(), admin)
			var wg sync.WaitGroup
			results := make([]*qav1.RunWeekResponse, 2)
			errs := make([]error, 2)
			for i, s := range []*server{a, c} {
				conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = conn.Close() }()
				client := qav1.NewSamplingServiceClient(conn)
				wg.Go(func() { results[i], errs[i] = client.RunWeek(ctx, &qav1.RunWeekRequest{Week: "2020-W20"}) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("replica %d: %v", i, err)
				}
			}
			if results[0].GetRun().GetId() != results[1].GetRun().GetId() || results[0].GetCreated() == results[1].GetCreated() {
				t.Fatalf("replicas disagree: %v / %v; want one run, created by exactly one", results[0], results[1])
			}
			out, _, _ := a.qactl(admin, "--json", "sample", "list", "--week", "2020-W20")
			picks := parsePicks(t, out)
			seen := map[[2]string]bool{}
			for _, p := range picks {
				if seen[[2]string{p.ExternalID, p.AgentID}] {
					t.Fatalf("%s picked twice for %s", p.ExternalID, p.AgentID)
				}
				seen[[2]string{p.ExternalID, p.AgentID}] = true
			}
			if len(picks) == 0 {
				t.Fatal("no picks")
			}
		})
	}
}
