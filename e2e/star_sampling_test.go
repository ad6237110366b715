package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"qa-sampling/internal/importfile"
	"qa-sampling/internal/stardata"
	"qa-sampling/transcript"
)

// fullSTARPath finds shared/data/star beside the repository, where CI and
// the development machines keep the whole corpus.
func fullSTARPath(t *testing.T) string {
	t.Helper()
	subset, err := stardata.SubsetPath()
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Dir(filepath.Dir(filepath.Dir(subset)))
	p := filepath.Join(filepath.Dir(repo), "shared", "data", "star", "star_dialogues.jsonl.gz")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the full STAR corpus is missing at %s", p)
		}
		t.Skipf("full STAR corpus not at %s", p)
	}
	return p
}

// TestSamplingAllSTARWeeks ingests all 6,652 STAR dialogues and samples
// each of their ISO weeks (2020-W20..W22, Asia/Shanghai). Every active agent
// must get exactly min(conversations with an agent message, quota) picks
// (quota 5, or 7 for an agent under 90 days of tenure at the week's
// start), counted here straight from the raw dialogues, and the run's
// shortfalls must be the agents below quota.
func TestSamplingAllSTARWeeks(t *testing.T) {
	dialogues, err := stardata.Load(fullSTARPath(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, backends(t)[0].dsn, "--sample-schedule", "off")
	admin := srv.token("admin", "lead")
	ingest := srv.token("ingest", "bridge")

	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	agents := stardata.Agents(dialogues)
	hired := map[string]time.Time{}
	for _, a := range agents {
		hired[a.AgentID], _ = time.ParseInLocation(time.DateOnly, a.HiredOn, shanghai)
	}
	// handled[week][agent]: conversations with an agent message.
	handled := map[string]map[string]int{}
	var ts []transcript.Transcript
	noAgentMessage := 0
	for _, d := range dialogues {
		tr := stardata.Convert(d)
		if len(tr.Messages) == 0 {
			noAgentMessage++
			continue // rejected on ingest: a conversation needs a message
		}
		ts = append(ts, tr)
		agentWrote := false
		for _, m := range tr.Messages {
			agentWrote = agentWrote || m.Role == transcript.RoleAgent
		}
		if !agentWrote {
			noAgentMessage++
			continue
		}
		y, w := tr.EndedAt.In(shanghai).ISOWeek()
		week := strconv.Itoa(y) + "-W" + twoDigits(w)
		if handled[week] == nil {
			handled[week] = map[string]int{}
		}
		handled[week][tr.AgentID]++
	}
	if noAgentMessage != 624 {
		t.Fatalf("%d dialogues without an agent message; the issue says 624", noAgentMessage)
	}
	dir := t.TempDir()
	write := func(name string, fn func(*os.File) error) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(f); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
		return p
	}
	if _, e, code := srv.qactl(ingest, "agents", "import", "--file", write("a.jsonl", func(f *os.File) error { return importfile.WriteAgentsJSONL(f, agents) })); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := srv.qactl(ingest, "ingest", "--file", write("t.jsonl", func(f *os.File) error { return importfile.WriteTranscriptsJSONL(f, ts) })); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := srv.qactl(admin, "inspector", "add", "insp-1", "--name", "One"); code != 0 {
		t.Fatal(e)
	}

	if len(handled) != 3 {
		t.Fatalf("weeks %v, want 2020-W20..W22", handled)
	}
	shortfallsLine := regexp.MustCompile(`(\d+) picks, (\d+) agents short of quota`)
	for week, perAgent := range handled {
		out, errOut, code := srv.qactl(admin, "sample", "run", "--week", week)
		m := shortfallsLine.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("sample run %s: %d %s %s", week, code, out, errOut)
		}
		year, _ := strconv.Atoi(week[:4])
		num, _ := strconv.Atoi(week[6:])
		weekStart := isoWeekStart(year, num, shanghai)
		wantPicks, wantShort := 0, 0
		for agent, n := range perAgent {
			quota := 5
			if weekStart.Sub(hired[agent]) < 90*24*time.Hour {
				quota = 7
			}
			wantPicks += min(n, quota)
			if n < quota {
				wantShort++
			}
		}
		if m[1] != strconv.Itoa(wantPicks) || m[2] != strconv.Itoa(wantShort) {
			t.Errorf("%s: %s picks and %s short, want %d and %d (from the raw dialogues)", week, m[1], m[2], wantPicks, wantShort)
		}
		out, _, _ = srv.qactl(admin, "--json", "sample", "list", "--week", week)
		got := map[string]int{}
		for _, p := range parsePicks(t, out) {
			got[p.AgentID]++
		}
		for agent, n := range perAgent {
			quota := 5
			if weekStart.Sub(hired[agent]) < 90*24*time.Hour {
				quota = 7
			}
			if got[agent] != min(n, quota) {
				t.Errorf("%s agent %s: %d picks for %d conversations, want %d", week, agent, got[agent], n, min(n, quota))
			}
		}
		if len(got) != len(perAgent) {
			t.Errorf("%s: %d agents sampled, %d handled conversations", week, len(got), len(perAgent))
		}
	}
	skipBringsReplacement(t, srv, admin, handled)

	// With insp-1 the only inspector, a released item waits in the pool.
	insp := srv.token("inspector", "insp-1")
	out, _, _ := srv.qactl(insp, "--json", "review", "queue")
	item := parsePicks(t, out)[0]
	if _, errOut, code := srv.qactl(insp, "review", "release", item.ID); code != 0 {
		t.Fatal(errOut)
	}
	out, _, _ = srv.qactl(admin, "--json", "sample", "list", "--status", "pool")
	if pool := parsePicks(t, out); len(pool) != 1 || pool[0].ID != item.ID || pool[0].InspectorID != "" {
		t.Fatalf("pool %+v; want only the released item %s, unassigned", pool, item.ID)
	}
}

// skipBringsReplacement skips, as the only inspector, a pick of an agent
// with far more conversations than picks that week; the replacement must
// be a new pick of the same agent and reason in the same queue.
func skipBringsReplacement(t *testing.T, srv *server, admin string, handled map[string]map[string]int) {
	t.Helper()
	insp := srv.token("inspector", "insp-1")
	out, _, _ := srv.qactl(insp, "--json", "review", "queue", "--all")
	queue := parsePicks(t, out)
	before := map[[2]string]bool{}
	for _, p := range queue {
		before[[2]string{p.ExternalID, p.AgentID}] = true
	}
	var target *pickJSON
	for week, perAgent := range handled {
		out, _, _ := srv.qactl(admin, "--json", "sample", "list", "--week", week, "--reason", "random")
		for _, p := range parsePicks(t, out) {
			if perAgent[p.AgentID] > 20 && p.Status == "assigned" {
				target = &p
				break
			}
		}
		if target != nil {
			break
		}
	}
	if target == nil {
		t.Fatal("no agent-week with more than 20 conversations")
	}
	out, errOut, code := srv.qactl(insp, "review", "skip", target.ID, "--reason", "wrong_agent")
	if code != 0 || !strings.Contains(out, "replaced by") {
		t.Fatalf("skip of %+v: %d %q %q; want a replacement", target, code, out, errOut)
	}
	after, _, _ := srv.qactl(insp, "--json", "review", "queue", "--all")
	var added []pickJSON
	for _, p := range parsePicks(t, after) {
		if !before[[2]string{p.ExternalID, p.AgentID}] {
			added = append(added, p)
		}
	}
	if len(added) != 1 || added[0].AgentID != target.AgentID || added[0].Reason != target.Reason || added[0].ExternalID == target.ExternalID {
		t.Fatalf("after skipping %+v the queue gained %+v; want one new pick of the same agent and reason", *target, added)
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// isoWeekStart is Monday 00:00 of ISO week (year, week) in loc.
func isoWeekStart(year, week int, loc *time.Location) time.Time {
	jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, loc)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	return monday.AddDate(0, 0, 7*(week-1))
}
