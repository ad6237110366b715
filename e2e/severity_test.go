package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestInspectorSeverity: three weeks of reviews by three inspectors
// rotating over three agents, insp-1 rating every dimension 5 and the
// others 3. `qactl --json report inspectors` reports each inspector's
// reviews, insp-1 as lenient (a positive severity whose interval excludes
// zero, when estimable) or says why not; agent reports carry the raw mean
// and the adjusted mean (or why not); a supervisor is refused the
// inspectors report. SQLite and PostgreSQL.
func TestInspectorSeverity(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { inspectorSeverity(t, b.dsn) })
	}
}

func inspectorSeverity(t *testing.T, dsn string) {
	w := newWorld(t, dsn, defaultOrg)
	w.setupGRPC()
	reviews := map[string]int32{}
	for _, wk := range []string{"2026-W41", "2026-W42", "2026-W43"} {
		w.pushWeek(wk, 3)
		for _, p := range w.runWeek(wk) {
			if p.GetInspectorId() == "" {
				continue
			}
			spec := "attitude=3,knowledge=3,efficiency=3,communication=3,compliance=3"
			if p.GetInspectorId() == "insp-1" {
				spec = "attitude=5,knowledge=5,efficiency=5,communication=5,compliance=5"
			}
			w.finalize(p, spec)
			reviews[p.GetInspectorId()]++
		}
	}
	rep := &qav1.GetInspectorsReportResponse{}
	out := w.qactlOK("qa-lead", "--json", "report", "inspectors", "--weeks", "5", "--last-week", "2026-W44")
	unmarshalJSON(t, out, rep)
	for _, key := range []string{`"reviews"`, `"inspector_id"`} {
		if !strings.Contains(out, key) {
			t.Errorf("report inspectors --json lacks %s:\n%s", key, out)
		}
	}
	if len(rep.GetInspectors()) != 3 {
		t.Fatalf("inspectors: %v", rep.GetInspectors())
	}
	for _, in := range rep.GetInspectors() {
		if in.GetReviews() != reviews[in.GetInspectorId()] {
			t.Errorf("%s: %d reviews, want %d", in.GetInspectorId(), in.GetReviews(), reviews[in.GetInspectorId()])
		}
		if in.Severity == nil && in.GetNotIdentifiable() == "" {
			t.Errorf("%s: no severity and no reason", in.GetInspectorId())
		}
		if in.GetInspectorId() == "insp-1" && in.Severity != nil {
			if in.GetSeverity() < 30 || in.GetSeverityCi() != nil && in.GetSeverityCi().GetLow() <= 0 {
				t.Errorf("insp-1 rates 5 where the others rate 3: severity %v ci %v, want about +40 excluding 0", in.GetSeverity(), in.GetSeverityCi())
			}
			if !strings.Contains(out, `"severity"`) {
				t.Errorf("--json lacks severity:\n%s", out)
			}
		}
	}
	text := w.qactlOK("qa-lead", "report", "inspectors", "--weeks", "5", "--last-week", "2026-W44")
	if !strings.Contains(text, "SEVERITY") || !strings.Contains(text, "insp-1") {
		t.Errorf("report inspectors text:\n%s", text)
	}
	w.qactlFails("sup-a", []string{"PERMISSION_DENIED"}, "report", "inspectors")
	w.qactlFails("qa-lead", []string{"INVALID_ARGUMENT"}, "report", "inspectors", "--weeks", "105")

	agent := &qav1.GetAgentReportResponse{}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "report", "agent", "a1", "--weeks", "5", "--last-week", "2026-W44"), agent)
	s := agent.GetReport().GetSummary()
	if s.GetReviews() == 0 || (s.AdjustedMean == nil) == (s.GetAdjustmentNote() == "") {
		t.Errorf("a1: mean %v adjusted %v note %q: want the raw mean and exactly one of adjusted mean and note", s.GetMean(), s.AdjustedMean, s.GetAdjustmentNote())
	}
	if !strings.Contains(w.qactlOK("sup-a", "report", "agent", "a1", "--weeks", "5", "--last-week", "2026-W44"), "adjusted ") {
		t.Error("report agent text has no adjusted line")
	}

	// Adaptive quotas: with every agent's recent interval straddling 70
	// (5s from insp-1, 3s from the others), the preview of 2026-W44 adds
	// up to max_extra adaptive picks per agent, the same on every preview,
	// and the run picks exactly the preview.
	policy := w.qactlOK("qa-lead", "--json", "policy", "get")
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	// --json prints every field, the unset option as null.
	adaptive := regexp.MustCompile(`"adaptive":\s*null`).ReplaceAllString(policy, `"adaptive": {"max_extra": 2, "pass_score": 70, "weeks": 3}`)
	if adaptive == policy {
		t.Fatalf("policy get --json has no \"adaptive\": null:\n%s", policy)
	}
	if err := os.WriteFile(policyFile, []byte(adaptive), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := w.qactlOK("qa-lead", "policy", "set", "--file", policyFile); !strings.Contains(got, "up to 2 extra picks") {
		t.Errorf("policy set text does not show the adaptive option:\n%s", got)
	}
	w.pushWeek("2026-W44", 10)
	preview := func() *qav1.PreviewWeekResponse {
		t.Helper()
		p := &qav1.PreviewWeekResponse{}
		unmarshalJSON(t, w.qactlOK("qa-lead", "--json", "sample", "run", "--week", "2026-W44", "--dry-run"), p)
		return p
	}
	first := preview()
	extra := map[string]int{}
	for _, p := range first.GetPicks() {
		if p.GetReason() == "adaptive" {
			extra[p.GetAgentId()]++
		}
	}
	if len(extra) == 0 {
		t.Fatalf("no adaptive picks in the preview: %v", first.GetPicks())
	}
	for agent, n := range extra {
		if n > 2 {
			t.Errorf("%s: %d adaptive picks, max_extra is 2", agent, n)
		}
	}
	key := func(ps []*qav1.Pick) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.GetAgentId()+"/"+p.GetExternalId()+"/"+p.GetReason())
		}
		slices.Sort(out)
		return out
	}
	if again := preview(); !slices.Equal(key(again.GetPicks()), key(first.GetPicks())) {
		t.Errorf("two previews differ:\n%v\n%v", key(first.GetPicks()), key(again.GetPicks()))
	}
	if run := w.runWeek("2026-W44"); !slices.Equal(key(run), key(first.GetPicks())) {
		t.Errorf("the run differs from its preview:\n%v\n%v", key(run), key(first.GetPicks()))
	}
}
