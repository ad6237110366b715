package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"qa-sampling/internal/importfile"
	"qa-sampling/internal/stardata"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/transcript"
)

func durationOrNone(d interface{ AsDuration() time.Duration }, present bool) time.Duration {
	if !present {
		return transcript.NoResponse
	}
	return d.AsDuration()
}

// TestSTARDialoguesThroughQactl imports the real STAR subset with qactl (the
// client a new user runs), then reads every transcript back and checks the
// derived metrics against values computed independently from the raw events.
func TestSTARDialoguesThroughQactl(t *testing.T) {
	dialogues, err := stardata.LoadSubset()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	agentsFile := filepath.Join(dir, "agents.jsonl")
	transcriptsFile := filepath.Join(dir, "transcripts.jsonl")
	converted := make([]transcript.Transcript, len(dialogues))
	emptyLines := map[int]bool{} // dialogues with no message at all: rejected by design
	for i, d := range dialogues {
		converted[i] = stardata.Convert(d)
		if len(converted[i].Messages) == 0 {
			emptyLines[i+1] = true
		}
	}
	writeFile := func(path string, write func(*os.File) error) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(agentsFile, func(f *os.File) error { return importfile.WriteAgentsJSONL(f, stardata.Agents(dialogues)) })
	writeFile(transcriptsFile, func(f *os.File) error { return importfile.WriteTranscriptsJSONL(f, converted) })

	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b.dsn)
			ingest := srv.token("ingest", "star-bridge")
			admin := srv.token("admin", "lead")

			out, errOut, code := srv.qactl(ingest, "agents", "import", "--file", agentsFile)
			if code != 0 {
				t.Fatalf("agents import: exit %d\n%s\n%s", code, out, errOut)
			}

			out, errOut, code = srv.qactl(ingest, "--json", "ingest", "--file", transcriptsFile)
			if code != 1 {
				t.Fatalf("ingest: exit %d, want 1 because %d lines hold no message\n%s\n%s", code, len(emptyLines), out, errOut)
			}
			var summary map[string]any
			if err := json.Unmarshal([]byte(lastLine(out)), &summary); err != nil {
				t.Fatalf("--json summary %q: %v", out, err)
			}
			wantAccepted := float64(len(dialogues) - len(emptyLines))
			if summary["accepted"] != wantAccepted || summary["rejected"] != float64(len(emptyLines)) {
				t.Fatalf("summary %v, want %v accepted and %d rejected", summary, wantAccepted, len(emptyLines))
			}
			// Each rejection names its line and the field.
			rejectedLine := regexp.MustCompile(`line (\d+): messages: `)
			reported := map[int]bool{}
			sc := bufio.NewScanner(strings.NewReader(errOut))
			for sc.Scan() {
				if m := rejectedLine.FindStringSubmatch(sc.Text()); m != nil {
					n, _ := strconv.Atoi(m[1])
					reported[n] = true
				}
			}
			for line := range emptyLines {
				if !reported[line] {
					t.Errorf("line %d (no messages) not reported as rejected on messages; stderr:\n%s", line, errOut)
				}
			}

			// Pushing the same file again changes nothing.
			out, _, _ = srv.qactl(ingest, "--json", "ingest", "--file", transcriptsFile)
			if err := json.Unmarshal([]byte(lastLine(out)), &summary); err != nil || summary["unchanged"] != wantAccepted || summary["accepted"] != 0.0 {
				t.Fatalf("second ingest summary %v (%v), want all %v unchanged", summary, err, wantAccepted)
			}

			ctx := withToken(context.Background(), admin)
			c := srv.client("")
			for i, d := range dialogues {
				if emptyLines[i+1] {
					continue
				}
				resp, err := c.GetTranscript(ctx, &qav1.GetTranscriptRequest{ExternalId: stardata.ExternalID(&d)})
				if err != nil {
					t.Fatalf("%s: %v", stardata.ExternalID(&d), err)
				}
				got := resp.GetTranscript().GetMetrics()
				want := stardata.ExpectedMetrics(d)
				gotM := transcript.Metrics{
					MessageCount:         int(got.GetMessageCount()),
					AgentMessageCount:    int(got.GetAgentMessageCount()),
					CustomerMessageCount: int(got.GetCustomerMessageCount()),
					BotMessageCount:      int(got.GetBotMessageCount()),
					SystemMessageCount:   int(got.GetSystemMessageCount()),
					FirstResponse:        durationOrNone(got.GetFirstResponseTime(), got.GetFirstResponseTime() != nil),
					MeanAgentResponse:    durationOrNone(got.GetMeanAgentResponseTime(), got.GetMeanAgentResponseTime() != nil),
					AgentReplyCount:      int(got.GetAgentReplyCount()),
					HandleTime:           got.GetHandleTime().AsDuration(),
				}
				if gotM != want {
					t.Fatalf("%s: stored metrics %+v, computed from the raw events %+v", stardata.ExternalID(&d), gotM, want)
				}
			}

			// qactl reads one back, readable and as JSON.
			first := 0
			for emptyLines[first+1] {
				first++
			}
			id := stardata.ExternalID(&dialogues[first])
			out, errOut, code = srv.qactl(admin, "--json", "transcript", "get", id)
			if code != 0 || !strings.Contains(out, `"external_id"`) || !strings.Contains(out, id) {
				t.Fatalf("transcript get --json: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
