package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestCheckRerunReplicaDies (issue 11 §5, README "PostgreSQL deployment"):
// two qad replicas serve one PostgreSQL database with a short re-run
// lease. A re-run started on the first is worked by it alone; when it is
// killed mid-job the second takes the job over once the lease has run out
// (audited as checks.rerun.takeover) and finishes it after the cursor,
// with done and changed exact: the batch the killed replica had in flight
// was rolled back with its connection.
func TestCheckRerunReplicaDies(t *testing.T) {
	dsn := os.Getenv("QA_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set QA_TEST_POSTGRES_DSN: replicas share a PostgreSQL database")
	}
	dsn = freshSchema(t, dsn)
	const week = "2026-W47"
	first := startServer(t, dsn, "--sample-schedule", "off", "--check-rerun-lease", "2s")
	second := startServer(t, dsn, "--sample-schedule", "off", "--check-rerun-lease", "2s")
	admin, ingestToken := first.token("admin", "qa-lead"), first.token("ingest", "platform")
	ctx := withToken(context.Background(), ingestToken)
	client := first.client("")
	upsertAgents(t, ctx, client, "a1", "a2")

	// Enough chats for a job of many batches (2,000 each); every other one
	// opens with "在的", which the new set below takes for a greeting.
	const chats = 24000
	for from := 0; from < chats; from += 1000 {
		stream, err := client.PushTranscripts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req := &qav1.PushTranscriptsRequest{}
		for i := from; i < from+1000; i++ {
			c := checkChat(fmt.Sprintf("rr-%05d", i), []string{"a1", "a2"}[i%2])
			shift := time.Duration(i) * time.Second
			for _, ts := range []*timestamppb.Timestamp{c.StartedAt, c.EndedAt} {
				*ts = *timestamppb.New(ts.AsTime().Add(shift))
			}
			for _, m := range c.Messages {
				m.SentAt = timestamppb.New(m.SentAt.AsTime().Add(shift))
			}
			if i%2 == 0 {
				c.Messages[1].Text = "在的"
			}
			req.Transcripts = append(req.Transcripts, c)
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		_ = stream.CloseSend()
		for {
			resp, err := stream.Recv()
			if err != nil {
				break
			}
			for _, r := range resp.GetResults() {
				if r.GetReason() != "" {
					t.Fatalf("push: %v", r)
				}
			}
		}
	}
	qactl := func(s *server, args ...string) string {
		t.Helper()
		out, errOut, code := s.qactl(admin, args...)
		if code != 0 {
			t.Fatalf("qactl %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	var set map[string]any
	if err := json.Unmarshal([]byte(qactl(first, "--json", "checks", "get")), &set); err != nil {
		t.Fatal(err)
	}
	delete(set, "version")
	set["greeting_phrases"] = append(set["greeting_phrases"].([]any), "在的")
	doc, _ := json.Marshal(set)
	path := filepath.Join(t.TempDir(), "checks.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	qactl(first, "checks", "set", "--file", path)

	type rerunJSON struct {
		ID             string `json:"id"`
		Status         string `json:"status"`
		Done           string `json:"done"`
		Total          string `json:"total"`
		Changed        string `json:"changed"`
		Owner          string `json:"owner"`
		LeaseExpiresAt string `json:"lease_expires_at"`
	}
	var job rerunJSON
	out := qactl(first, "--json", "checks", "rerun", "--week", week)
	// The first replica dies with the job under way.
	firstPID := "/" + strconv.Itoa(first.cmd.Process.Pid) + "/"
	first.kill()
	if err := json.Unmarshal([]byte(out), &job); err != nil {
		t.Fatalf("checks rerun printed %s: %v", out, err)
	}
	if !strings.Contains(job.Owner, firstPID) || job.LeaseExpiresAt == "" || job.Total != strconv.Itoa(chats) {
		t.Fatalf("the started job: %+v; want it held by the first replica (pid %s)", job, firstPID)
	}
	status := func() rerunJSON {
		t.Helper()
		var got rerunJSON
		if err := json.Unmarshal([]byte(qactl(second, "--json", "checks", "rerun-status", job.ID)), &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := status(); got.Status != "running" {
		t.Skipf("the job ended before its replica was killed (%+v): nothing to take over", got)
	}
	deadline := time.Now().Add(2 * time.Minute) // a hang guard, not a timing assert
	var got rerunJSON
	for got = status(); got.Status == "running"; got = status() {
		if time.Now().After(deadline) {
			t.Fatalf("the job was not taken over: %+v\nsecond replica's log:\n%s", got, second.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.Status != "done" || got.Done != strconv.Itoa(chats) || got.Total != strconv.Itoa(chats) || got.Changed != strconv.Itoa(chats/2) ||
		got.Owner == job.Owner || got.LeaseExpiresAt != "" {
		t.Errorf("the job after the takeover: %+v; want done %d of %d, %d changed, by the second replica (first was %s)", got, chats, chats, chats/2, job.Owner)
	}
	var audit []auditLine
	for line := range strings.Lines(qactl(second, "--json", "audit", "list", "--all", "--action", "checks.rerun.takeover")) {
		var ev auditLine
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit list: %q: %v", line, err)
		}
		audit = append(audit, ev)
	}
	if len(audit) != 1 || !strings.Contains(audit[0].Detail, `"from":"`) || !strings.Contains(audit[0].Detail, firstPID) {
		t.Errorf("takeover audit: %+v; want one, from the first replica (%s)", audit, job.Owner)
	}
	if !strings.Contains(second.log.String(), "taking over a check re-run") {
		t.Errorf("the second replica's log does not say it took the job over:\n%s", second.log.String())
	}
	// Every chat carries the new version; the ones opening with "在的" no
	// longer fire no_greeting.
	for _, id := range []string{"rr-00000", "rr-00001", "rr-11998", "rr-23999"} {
		var tr struct {
			Hints []hintJSON `json:"hints"`
		}
		if err := json.Unmarshal([]byte(qactl(second, "--json", "transcript", "get", id)), &tr); err != nil {
			t.Fatal(err)
		}
		for _, h := range tr.Hints {
			if h.Version != "2" || h.Check == "no_greeting" {
				t.Errorf("%s after the re-run: %+v", id, tr.Hints)
			}
		}
	}
}
