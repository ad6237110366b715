package e2e

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestCalibrationThroughQactl is issue 12's blind session end to end:
// four inspectors and a benchmark score three chats through qactl, the
// agent stays hidden from them, nobody sees results before everyone has
// finalised, the alphas match a computation made here from the ratings
// given, and nothing reaches feedback, reports, disputes or picks.
func TestCalibrationThroughQactl(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { calibrationSession(t, b.dsn) })
	}
}

// calibrationRatings are what each participant gives the three chats:
// five dimension values ("na" for N/A) and flags. insp-4 is lenient
// (a point or two above the benchmark on most dimensions).
var calibrationRatings = map[string][3]struct {
	values string
	flags  []string
}{
	"bench":  {{"4,3,4,5,3", nil}, {"2,2,3,2,4", []string{"false_promise"}}, {"5,5,4,5,5", nil}},
	"insp-1": {{"4,3,4,4,3", nil}, {"2,3,3,2,4", []string{"false_promise"}}, {"5,4,4,5,5", nil}},
	"insp-2": {{"4,2,4,5,3", nil}, {"1,2,3,na,4", []string{"false_promise"}}, {"5,5,3,5,5", nil}},
	"insp-3": {{"3,3,4,5,3", nil}, {"2,2,2,2,4", nil}, {"4,5,4,5,5", nil}},
	"insp-4": {{"5,4,5,5,4", nil}, {"4,3,4,3,5", []string{"false_promise"}}, {"5,5,5,5,5", nil}},
}

func calibrationSession(t *testing.T, dsn string) {
	const week = "2026-W46"
	w := newWorld(t, dsn, defaultOrg)
	w.setupGRPC()
	for _, id := range []string{"insp-4", "bench"} {
		w.tokens[id] = w.srv.token("inspector", id)
		w.qactlOK("qa-lead", "inspector", "add", id, "--name", "Inspector "+id)
	}
	w.pushWeek(week, 2)
	picksBefore := w.runWeek(week)
	chats := []string{week + "-a1-0", week + "-a2-1", week + "-b1-0"}
	inspectors := []string{"insp-1", "insp-2", "insp-3", "insp-4"}

	// Refusals name the field.
	out := w.qactlFails("qa-lead", []string{"INVALID_ARGUMENT"}, "calibration", "create", "--transcript", "nope", "--inspector", "insp-1", "--inspector", "insp-2")
	if !strings.Contains(out, "external_ids[0]") {
		t.Errorf("unknown chat: %s", out)
	}
	w.qactlFails("insp-1", []string{"PERMISSION_DENIED"}, "calibration", "create", "--transcript", chats[0], "--inspector", "insp-1", "--inspector", "insp-2")

	args := []string{"--json", "calibration", "create", "--name", "十二月校准", "--due", "2026-12-31", "--benchmark", "bench"}
	for _, c := range chats {
		args = append(args, "--transcript", c)
	}
	for _, i := range inspectors {
		args = append(args, "--inspector", i)
	}
	session := &qav1.CalibrationSession{}
	unmarshalJSON(t, w.qactlOK("qa-lead", args...), session)
	if session.GetId() == 0 || session.GetStatus() != "open" || session.GetItems() != 15 || len(session.GetProgress()) != 5 || session.GetDue() == nil {
		t.Fatalf("created session: %v", session)
	}
	sid := strconv.FormatInt(session.GetId(), 10)

	// Each participant finds one blind calibration item per chat.
	items := map[string]map[string]int64{} // participant → chat → item
	for _, p := range append(slices.Clone(inspectors), "bench") {
		items[p] = map[string]int64{}
		for _, it := range pickLines(t, w.qactlOK(p, "--json", "review", "queue")) {
			if it.GetKind() != "calibration" {
				continue
			}
			if it.GetSessionId() != session.GetId() || it.GetAgentId() != "" || it.GetStatus() != "assigned" {
				t.Errorf("%s's calibration item: %v", p, it)
			}
			items[p][it.GetExternalId()] = it.GetId()
		}
		if len(items[p]) != 3 {
			t.Fatalf("%s has calibration items %v, want one per chat", p, items[p])
		}
	}
	if text := w.qactlOK("insp-1", "review", "queue"); !strings.Contains(text, "calibration:"+sid) || !strings.Contains(text, "(hidden)") {
		t.Errorf("review queue text lacks the calibration marks:\n%s", text)
	}
	opened := &qav1.OpenItemResponse{}
	item := strconv.FormatInt(items["insp-1"][chats[0]], 10)
	unmarshalJSON(t, w.qactlOK("insp-1", "--json", "review", "show", item), opened)
	if opened.GetItem().GetAgentId() != "" || opened.GetTranscript().GetAgentId() != "" || len(opened.GetAgentNames()) != 0 {
		t.Errorf("the agent shows in a calibration item: item %v, transcript agent %q, names %v",
			opened.GetItem(), opened.GetTranscript().GetAgentId(), opened.GetAgentNames())
	}
	for _, m := range opened.GetTranscript().GetMessages() {
		if m.GetAgentId() != "" {
			t.Errorf("message by agent %q in a blind item", m.GetAgentId())
		}
	}
	if text := w.qactlOK("insp-1", "review", "show", item); strings.Contains(text, "agent a1") || !strings.Contains(text, "calibration session "+sid) {
		t.Errorf("review show of a calibration item:\n%s", text)
	}
	// Another's item is not theirs; calibration items are neither released nor skipped.
	w.qactlFails("insp-2", []string{"NOT_FOUND"}, "review", "show", item)
	w.qactlFails("insp-1", []string{"FAILED_PRECONDITION"}, "review", "release", item)

	// Scoring: a draft first, then every final review; results stay hidden
	// from inspectors until the last one.
	w.qactlOK("insp-1", "review", "submit", item, "--rating", "attitude=1")
	score := func(p string, final bool) {
		for i, c := range chats {
			r := calibrationRatings[p][i]
			vals := strings.Split(r.values, ",")
			args := []string{"--json", "review", "submit", strconv.FormatInt(items[p][c], 10), "--clear-flags"}
			for k, key := range dimensionKeys {
				args = append(args, "--rating", key+"="+vals[k])
			}
			for _, f := range r.flags {
				args = append(args, "--flag", f)
			}
			if final {
				args = append(args, "--final")
			}
			resp := &qav1.SubmitReviewResponse{}
			unmarshalJSON(t, w.qactlOK(p, args...), resp)
			if resp.GetFeedback() != nil || resp.GetReview().GetAgentId() != "" {
				t.Errorf("%s's calibration review: feedback %v, agent %q", p, resp.GetFeedback(), resp.GetReview().GetAgentId())
			}
		}
	}
	for _, p := range inspectors {
		score(p, true)
	}
	w.qactlFails("insp-1", []string{"FAILED_PRECONDITION"}, "calibration", "results", sid)
	w.qactlFails("insp-1", []string{"FAILED_PRECONDITION"}, "review", "submit", item, "--rating", "attitude=2")
	w.qactlFails("insp-3", []string{"NOT_FOUND"}, "calibration", "show", "999")
	w.qactlOK("qa-lead", "calibration", "results", sid) // admins always
	score("bench", true)

	if l := w.qactlOK("insp-2", "calibration", "list"); !strings.Contains(l, "complete") || !strings.Contains(l, "15/15") {
		t.Errorf("calibration list after every final:\n%s", l)
	}
	res := &qav1.GetCalibrationResultsResponse{}
	unmarshalJSON(t, w.qactlOK("insp-1", "--json", "calibration", "results", sid), res)
	checkCalibrationResults(t, res.GetResults(), chats, inspectors)
	text := w.qactlOK("qa-lead", "calibration", "results", sid)
	for _, want := range []string{"Krippendorff's alpha", "ratings (interval)", "insp-4", "bench (benchmark)", "4*"} {
		if !strings.Contains(text, want) {
			t.Errorf("calibration results text lacks %q:\n%s", want, text)
		}
	}

	// Nothing reached production: no feedback, no report, no dispute, and
	// the picks are as they were.
	if fb := w.qactlOK("qa-lead", "--json", "feedback", "list"); strings.TrimSpace(fb) != "" {
		t.Errorf("feedback after a calibration: %s", fb)
	}
	rep := &qav1.GetAgentReportResponse{}
	unmarshalJSON(t, w.qactlOK("qa-lead", "--json", "report", "agent", "a1", "--weeks", "4", "--last-week", week), rep)
	if rep.GetReport().GetSummary().GetReviews() != 0 {
		t.Errorf("report after a calibration counts %d reviews", rep.GetReport().GetSummary().GetReviews())
	}
	reviewID := strconv.FormatInt(items["insp-1"][chats[0]], 10)
	w.qactlFails("sup-a", []string{"NOT_FOUND"}, "dispute", "open", reviewID, "--reason", "calibration is not production")
	if after := w.picks(week); len(after) != len(picksBefore) {
		t.Errorf("%d picks after the calibration, %d before", len(after), len(picksBefore))
	} else {
		for i := range after {
			if after[i].GetStatus() != picksBefore[i].GetStatus() || after[i].GetInspectorId() != picksBefore[i].GetInspectorId() {
				t.Errorf("pick %d changed: %v → %v", after[i].GetId(), picksBefore[i], after[i])
			}
		}
	}

	// A second session closed by the admin before everyone finished.
	second := &qav1.CalibrationSession{}
	unmarshalJSON(t, w.qactlOK("qa-lead", "--json", "calibration", "create", "--transcript", chats[1], "--inspector", "insp-1", "--inspector", "insp-2"), second)
	sid2 := strconv.FormatInt(second.GetId(), 10)
	var open2 int64
	for _, it := range pickLines(t, w.qactlOK("insp-2", "--json", "review", "queue")) {
		if it.GetSessionId() == second.GetId() {
			open2 = it.GetId()
		}
	}
	closed := &qav1.CalibrationSession{}
	unmarshalJSON(t, w.qactlOK("qa-lead", "--json", "calibration", "close", sid2), closed)
	if closed.GetStatus() != "closed" || !closed.GetRevealed() || closed.GetClosedBy() != "qa-lead" {
		t.Errorf("closed session: %v", closed)
	}
	w.qactlFails("qa-lead", []string{"FAILED_PRECONDITION"}, "calibration", "close", sid2)
	w.qactlFails("insp-2", []string{"FAILED_PRECONDITION"}, "review", "submit", strconv.FormatInt(open2, 10), "--rating", "attitude=2")
	for _, it := range pickLines(t, w.qactlOK("insp-2", "--json", "review", "queue")) {
		if it.GetKind() == "calibration" {
			t.Errorf("calibration item left in the queue after close: %v", it)
		}
	}
	w.qactlOK("insp-2", "calibration", "results", sid2) // revealed by the close
	w.qactlFails("insp-3", []string{"NOT_FOUND"}, "calibration", "results", sid2)
}

// checkCalibrationResults compares the server's results with what the
// ratings given make, computed here independently: alpha by its pairwise
// definition (D_o over pairs within units, D_e over all pairs of
// pairable values) rather than the coincidence matrix.
func checkCalibrationResults(t *testing.T, res *qav1.CalibrationResults, chats, inspectors []string) {
	t.Helper()
	raters := append(slices.Clone(inspectors), "bench")
	var ratingUnits, flagUnits [][]float64
	for i := range chats {
		for k := range dimensionKeys {
			var u []float64
			for _, p := range raters {
				if v := strings.Split(calibrationRatings[p][i].values, ",")[k]; v != "na" {
					n, _ := strconv.Atoi(v)
					u = append(u, 20*float64(n)) // 100·value/5
				}
			}
			ratingUnits = append(ratingUnits, u)
		}
		for _, flag := range []string{"abusive_language", "privacy_leak", "false_promise"} {
			var u []float64
			for _, p := range raters {
				if slices.Contains(calibrationRatings[p][i].flags, flag) {
					u = append(u, 1)
				} else {
					u = append(u, 0)
				}
			}
			flagUnits = append(flagUnits, u)
		}
	}
	interval := func(a, b float64) float64 { return (a - b) * (a - b) }
	nominal := func(a, b float64) float64 {
		if a == b {
			return 0
		}
		return 1
	}
	check := func(name string, got *qav1.Alpha, want float64, pairable int) {
		t.Helper()
		if got.Value == nil || math.Abs(got.GetValue()-want) > 1e-9 || int(got.GetPairable()) != pairable {
			t.Errorf("alpha %s = %v (pairable %d), want %.6f (pairable %d)", name, got.Value, got.GetPairable(), want, pairable)
			return
		}
		verdict := "unreliable"
		switch {
		case want >= 0.8:
			verdict = "reliable"
		case want >= 0.667:
			verdict = "tentative"
		}
		if got.GetVerdict() != verdict {
			t.Errorf("alpha %s verdict %q, want %q", name, got.GetVerdict(), verdict)
		}
	}
	a, n := pairwiseAlpha(ratingUnits, interval)
	check("interval", res.GetAlpha().GetInterval(), a, n)
	a, n = pairwiseAlpha(flagUnits, nominal)
	check("flags_nominal", res.GetAlpha().GetFlagsNominal(), a, n)
	if o := res.GetAlpha().GetOrdinal(); o.Value == nil || o.GetPairable() != int32(len(raters)*len(chats)*5-1) {
		t.Errorf("alpha ordinal %v, want a value over %d pairable ratings", o, len(raters)*len(chats)*5-1)
	}
	if s := res.GetAlpha().GetScoreInterval(); s.GetPairable() != int32(len(raters)*len(chats)) {
		t.Errorf("alpha score_interval %v", s)
	}

	// insp-4 is lenient: positive bias, the largest of all.
	var lenient *qav1.CalibrationInspectorResult
	for _, r := range res.GetInspectors() {
		if r.GetInspectorId() == "insp-4" {
			lenient = r
		}
	}
	for _, r := range res.GetInspectors() {
		if r.GetBenchmark() {
			continue
		}
		if r.GetReference() != "benchmark" || r.MeanAgreement == nil || r.Bias == nil {
			t.Errorf("inspector %s: %v", r.GetInspectorId(), r)
		}
		if r != lenient && r.GetBias() >= lenient.GetBias() {
			t.Errorf("%s bias %.2f ≥ insp-4's %.2f", r.GetInspectorId(), r.GetBias(), lenient.GetBias())
		}
	}
	if lenient == nil || math.Abs(lenient.GetBias()-float64(11)/15) > 1e-9 {
		t.Errorf("insp-4's bias %v, want %.3f (11 points over 15 ratings)", lenient, float64(11)/15)
	}
	// Per (chat, dimension): agreement against the benchmark.
	if len(res.GetUnits()) != len(chats)*5 {
		t.Fatalf("%d units", len(res.GetUnits()))
	}
	u := res.GetUnits()[0] // chat 0, attitude: bench 4; insp-3 gave 3, insp-4 5
	if u.GetBenchmark().GetValue() != 4 || math.Abs(u.GetRatings()[2].GetAgreement()-0.8) > 1e-9 || u.GetRatings()[3].GetDeviation() != 1 {
		t.Errorf("unit %s/%s: %v", u.GetExternalId(), u.GetDimension(), u)
	}
}

// pairwiseAlpha is Krippendorff's alpha computed from pairs of values:
// D_o averages δ over the ordered pairs of different raters' values
// within each unit (weighted 1/(m_u − 1)), D_e over all ordered pairs of
// the pairable values.
func pairwiseAlpha(units [][]float64, delta func(a, b float64) float64) (float64, int) {
	var pooled []float64
	var do float64
	for _, u := range units {
		if len(u) < 2 {
			continue
		}
		pooled = append(pooled, u...)
		for i := range u {
			for j := range u {
				if i != j {
					do += delta(u[i], u[j]) / float64(len(u)-1)
				}
			}
		}
	}
	n := float64(len(pooled))
	var de float64
	for i := range pooled {
		for j := range pooled {
			if i != j {
				de += delta(pooled[i], pooled[j])
			}
		}
	}
	return 1 - (do/n)/(de/(n*(n-1))), len(pooled)
}
