package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAuditTrailOfTheProgramme: what changes the programme is in the audit
// trail with a readable JSON detail (issue 9 §2.4): a new policy version,
// a week's run, an inspector added and deactivated, a token created and
// revoked with `qad token`, a rubric activated, a review finalised. Before,
// `qactl audit list --entity policy` printed an empty table and a review's
// detail held the encoded ratings `attitude,4,5,;…`. No token's secret
// reaches the trail.
func TestAuditTrailOfTheProgramme(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testAuditTrail(t, b.dsn) })
	}
}

// auditLine is one event of `qactl --json audit list`.
type auditLine struct {
	ID       string `json:"id"`
	Actor    string `json:"actor"`
	Action   string `json:"action"`
	Entity   string `json:"entity"`
	EntityID string `json:"entity_id"`
	Detail   string `json:"detail"`
}

func testAuditTrail(t *testing.T, dsn string) {
	w := newWorld(t, dsn, defaultOrg)
	w.setupGRPC()
	admin := w.tokens["qa-lead"]
	qactl := func(args ...string) string {
		t.Helper()
		out, errOut, code := w.srv.qactl(admin, args...)
		if code != 0 {
			t.Fatalf("qactl %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	events := func(args ...string) []auditLine {
		t.Helper()
		var out []auditLine
		for line := range strings.Lines(qactl(append([]string{"--json", "audit", "list", "--all", "--limit", "2"}, args...)...)) {
			var ev auditLine
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("audit list %v: %q: %v", args, line, err)
			}
			out = append(out, ev)
		}
		return out
	}
	detail := func(ev auditLine) map[string]any {
		t.Helper()
		var d map[string]any
		if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
			t.Fatalf("%s %s/%s: detail %q is not a JSON object: %v", ev.Action, ev.Entity, ev.EntityID, ev.Detail, err)
		}
		return d
	}

	// A new policy version.
	policy := qactl("--json", "policy", "get")
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(strings.Replace(policy, `"random_per_agent":3`, `"random_per_agent":2`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	qactl("policy", "set", "--file", policyFile)

	// A week's run.
	const week = "2026-W44"
	w.pushWeek(week, 3)
	qactl("sample", "run", "--week", week)
	picks := w.picks(week)

	// An inspector added, renamed and deactivated.
	qactl("inspector", "add", "insp-9", "--name", "Li")
	qactl("inspector", "add", "insp-9", "--name", "Li Na")
	qactl("inspector", "add", "insp-9", "--name", "Li Na", "--inactive")

	// A token created and revoked on the server host.
	extra := w.srv.token("supervisor", "sup-z")
	extraID := strings.SplitN(extra, "_", 3)[1]
	if out, err := exec.Command(bin("qad"), "token", "revoke", "--db", w.srv.dsn, extraID).CombinedOutput(); err != nil {
		t.Fatalf("qad token revoke: %v\n%s", err, out)
	}

	// A rubric version added and activated.
	rubricFile := filepath.Join(t.TempDir(), "rubric.json")
	if err := os.WriteFile(rubricFile, []byte(qactl("--json", "rubric", "get")), 0o600); err != nil {
		t.Fatal(err)
	}
	qactl("rubric", "create", "--file", rubricFile)
	qactl("rubric", "activate", "2")

	// A review finalised.
	mine := picksOf(t, picks, "a1")
	review := w.finalize(mine[0], "attitude=4,knowledge=na,efficiency=3,communication=4,compliance=5")

	// The policy's events: the default stored on first read, then the new
	// version, each with the document as JSON.
	pol := events("--entity", "policy")
	if len(pol) != 2 || pol[0].Actor != "default" || pol[1].Actor != "qa-lead" || pol[1].Action != "policy.create" || pol[1].EntityID != "2" {
		t.Fatalf("policy events: %+v", pol)
	}
	if d := detail(pol[1]); d["version"] != float64(2) || d["policy"].(map[string]any)["random_per_agent"] != float64(2) {
		t.Errorf("policy.create detail = %v", d)
	}
	// The table shows them too, readable.
	table := qactl("audit", "list", "--entity", "policy")
	if !strings.Contains(table, "qa-lead") || !strings.Contains(table, "policy.create") || !strings.Contains(table, "policy/2") ||
		!strings.Contains(table, "version=2 policy={") {
		t.Errorf("audit list --entity policy:\n%s", table)
	}

	// The run: created and completed by the admin who ran it; the seed
	// only once the run revealed it.
	run := events("--entity", "run")
	if len(run) != 2 || run[0].Action != "run.create" || run[1].Action != "run.complete" || run[0].Actor != "qa-lead" || run[1].Actor != "qa-lead" {
		t.Fatalf("run events: %+v", run)
	}
	created, completed := detail(run[0]), detail(run[1])
	if created["week"] != week || created["policy_version"] != float64(2) || created["trigger"] != "manual:qa-lead" || created["seed"] != nil {
		t.Errorf("run.create detail = %v", created)
	}
	if completed["seed_commitment"] != created["seed_commitment"] || completed["seed"] == nil || completed["picks"] != float64(len(picks)) {
		t.Errorf("run.complete detail = %v; want the same commitment, the seed and %d picks", completed, len(picks))
	}

	// The inspector, step by step.
	var changes []string
	for _, ev := range events("--entity", "inspector", "--entity-id", "insp-9") {
		d := detail(ev)
		changes = append(changes, ev.Actor+" "+ev.Action+" "+ev.Detail)
		if ev.Action == "inspector.deactivate" && (d["before"].(map[string]any)["active"] != true || d["after"].(map[string]any)["active"] != false) {
			t.Errorf("inspector.deactivate detail = %v", d)
		}
	}
	if want := []string{
		`qa-lead inspector.create {"after":{"name":"Li","active":true}}`,
		`qa-lead inspector.update {"before":{"name":"Li","active":true},"after":{"name":"Li Na","active":true}}`,
		`qa-lead inspector.deactivate {"before":{"name":"Li Na","active":true},"after":{"name":"Li Na","active":false}}`,
	}; strings.Join(changes, "\n") != strings.Join(want, "\n") {
		t.Errorf("inspector events:\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}

	// The tokens, by the OS user who ran qad.
	actor := "qad"
	if u, err := user.Current(); err == nil && u.Username != "" {
		actor = "qad:" + u.Username
	}
	toks := events("--entity", "token")
	if want := len(w.tokens) + 2; len(toks) != want {
		t.Errorf("%d token events, want %d (a create for each token, a revoke): %+v", len(toks), want, toks)
	}
	for _, ev := range toks {
		if ev.Actor != actor {
			t.Errorf("%s by %q, want %q", ev.Action, ev.Actor, actor)
		}
	}
	revokes := events("--action", "token.revoke")
	if len(revokes) != 1 || revokes[0].EntityID != extraID {
		t.Fatalf("token.revoke events: %+v", revokes)
	}
	if d := detail(revokes[0]); d["subject"] != "sup-z" || d["role"] != "supervisor" || d["token_id"] != extraID {
		t.Errorf("token.revoke detail = %v", d)
	}

	// The rubric activation says which version it replaced.
	acts := events("--entity", "rubric", "--action", "rubric.activate")
	if len(acts) != 2 || acts[1].EntityID != "2" || acts[1].Actor != "qa-lead" || detail(acts[1])["previous_active"] != float64(1) {
		t.Errorf("rubric.activate events: %+v", acts)
	}

	// The review's ratings are a list of dimensions, not the stored encoding.
	fin := events("--entity", "review", "--entity-id", strconv.FormatInt(review.GetReview().GetId(), 10), "--action", "review.finalize")
	if len(fin) != 1 {
		t.Fatalf("review.finalize events: %+v", fin)
	}
	var rd struct {
		Ratings []struct {
			Dimension string `json:"dimension"`
			Rating    *int   `json:"rating"`
			NA        bool   `json:"na"`
		} `json:"ratings"`
		Flags []string `json:"flags"`
	}
	if err := json.Unmarshal([]byte(fin[0].Detail), &rd); err != nil || len(rd.Ratings) != 5 || rd.Flags == nil {
		t.Fatalf("review.finalize detail %s: %v", fin[0].Detail, err)
	}
	for _, r := range rd.Ratings {
		if (r.Dimension == "knowledge") != r.NA || (r.Rating == nil) != r.NA || (r.Dimension == "efficiency" && *r.Rating != 3) {
			t.Errorf("rating %+v in %s", r, fin[0].Detail)
		}
	}

	// A time range: a date is its local midnight, since inclusive, until
	// exclusive.
	everything := events()
	if got := events("--since", "2000-01-01", "--until", "2999-01-01"); len(got) != len(everything) {
		t.Errorf("--since 2000-01-01 --until 2999-01-01: %d events, want all %d", len(got), len(everything))
	}
	if got := events("--since", "2999-01-01"); len(got) != 0 {
		t.Errorf("--since 2999-01-01: %+v", got)
	}

	// No secret anywhere in the trail.
	all := qactl("--json", "audit", "list", "--all")
	for subject, tok := range w.tokens {
		if secret := strings.SplitN(tok, "_", 3)[2]; strings.Contains(all, secret) {
			t.Errorf("the audit trail holds %s's token secret", subject)
		}
	}
	if strings.Contains(all, strings.SplitN(extra, "_", 3)[2]) {
		t.Error("the audit trail holds the revoked token's secret")
	}
}
