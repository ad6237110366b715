package server

import (
	"math"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/severity"
	"qa-sampling/store"
)

// TestAnnotateMarksAndAdjusts: a summary resting on a review by an
// inspector whose latest calibration alpha is below 0.667 is marked
// unreliable and names them; one at 0.667 or above, or never calibrated,
// is not; the adjusted mean is the raw mean minus the mean effect of the
// inspectors behind it, and absent (with a note) when one has no
// estimate.
func TestAnnotateMarksAndAdjusts(t *testing.T) {
	rows := []store.SeverityRow{
		// A and B share agents a1 and a2; A scores 10 above B.
		{AgentID: "a1", InspectorID: "A", Score: 90, Status: store.ReviewFinal},
		{AgentID: "a1", InspectorID: "B", Score: 80, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "A", Score: 70, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "B", Score: 60, Status: store.ReviewFinal},
		{AgentID: "a1", InspectorID: "A", Score: 91, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "B", Score: 61, Status: store.ReviewFinal},
		// C saw only a3: not identifiable.
		{AgentID: "a3", InspectorID: "C", Score: 75, Status: store.ReviewFinal},
		{AgentID: "a3", InspectorID: "C", Score: 77, Status: store.ReviewFinal},
	}
	e := &severityEntry{rows: rows, byAgent: map[string][]int{}, standings: map[string]calibrationStanding{
		"A": {alpha: 0.52}, "B": {alpha: 0.667}, "C": {alpha: math.NaN()},
	}}
	var in []severity.Review
	for i, r := range rows {
		e.byAgent[r.AgentID] = append(e.byAgent[r.AgentID], i)
		in = append(in, severity.Review{Agent: r.AgentID, Inspector: r.InspectorID, Score: r.Score})
	}
	e.fit = severity.Estimate(in)

	a1 := &qav1.Summary{Reviews: 3, Mean: (90 + 80 + 91) / 3.0}
	e.annotate(a1, []string{"a1"})
	effA, _ := e.fit.Effect("A")
	effB, _ := e.fit.Effect("B")
	want := a1.GetMean() - (2*effA+effB)/3
	if a1.AdjustedMean == nil || math.Abs(a1.GetAdjustedMean()-want) > 1e-9 || a1.GetAdjustedMean() >= a1.GetMean() {
		t.Errorf("a1 adjusted %v, want %.4f (below the raw %.2f: two of three reviews by the lenient A)", a1.AdjustedMean, want, a1.GetMean())
	}
	if !a1.GetUnreliable() || len(a1.GetUnreliableInspectors()) != 1 || a1.GetUnreliableInspectors()[0] != "A" {
		t.Errorf("a1 rests on A (alpha 0.52): unreliable %v %v", a1.GetUnreliable(), a1.GetUnreliableInspectors())
	}

	b := &qav1.Summary{Reviews: 1, Mean: 80}
	e.byAgent["only-b"] = []int{1}
	e.annotate(b, []string{"only-b"})
	if b.GetUnreliable() {
		t.Errorf("B's alpha is 0.667 (tentative, not unreliable): marked %v", b.GetUnreliableInspectors())
	}

	a3 := &qav1.Summary{Reviews: 2, Mean: 76}
	e.annotate(a3, []string{"a3"})
	if a3.AdjustedMean != nil || a3.GetAdjustmentNote() == "" || a3.GetUnreliable() {
		t.Errorf("a3 rests on C (one agent, never calibrated): adjusted %v note %q unreliable %v", a3.AdjustedMean, a3.GetAdjustmentNote(), a3.GetUnreliable())
	}
	if a3.GetAdjustmentReason() != "one_agent" || a3.GetAdjustmentInspectorId() != "C" {
		t.Errorf("a3's note gives reason %q inspector %q, want one_agent and C (for clients to word it)", a3.GetAdjustmentReason(), a3.GetAdjustmentInspectorId())
	}
	if a1.GetAdjustmentReason() != "" || a1.GetAdjustmentInspectorId() != "" {
		t.Errorf("a1 is adjusted yet gives reason %q inspector %q", a1.GetAdjustmentReason(), a1.GetAdjustmentInspectorId())
	}

	none := &qav1.Summary{}
	e.annotate(none, []string{"a9"})
	if none.AdjustedMean != nil || none.GetAdjustmentNote() != "" {
		t.Errorf("no reviews: %v", none)
	}
}

// TestAnnotateFitOlderThanReport: a kept fit that lacks the agent's newest
// review (refitted in the background meanwhile) must not adjust a mean
// that counts it: the effect of the newest review's inspector would be
// missing from the adjustment. The summary says so instead.
func TestAnnotateFitOlderThanReport(t *testing.T) {
	rows := []store.SeverityRow{
		{AgentID: "a1", InspectorID: "A", Score: 90, Status: store.ReviewFinal},
		{AgentID: "a1", InspectorID: "B", Score: 80, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "A", Score: 70, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "B", Score: 60, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "B", Score: 61, Status: store.ReviewFinal},
	}
	e := &severityEntry{rows: rows, byAgent: map[string][]int{}}
	var in []severity.Review
	for i, r := range rows {
		e.byAgent[r.AgentID] = append(e.byAgent[r.AgentID], i)
		in = append(in, severity.Review{Agent: r.AgentID, Inspector: r.InspectorID, Score: r.Score})
	}
	e.fit = severity.Estimate(in)
	if _, ok := e.fit.Effect("A"); !ok {
		t.Fatal("A has no estimate")
	}
	// The report counts a third review of a1 (by A, 95) finalised after the fit.
	a1 := &qav1.Summary{Reviews: 3, Mean: (90 + 80 + 95) / 3.0}
	e.annotate(a1, []string{"a1"})
	if a1.AdjustedMean != nil || a1.GetAdjustmentNote() == "" {
		t.Errorf("fit counts 2 of a1's 3 reviews: adjusted %v note %q, want no adjusted mean and a note", a1.AdjustedMean, a1.GetAdjustmentNote())
	}
	team := &qav1.Summary{Reviews: 6, Mean: 76}
	e.annotate(team, []string{"a1", "a2"})
	if team.AdjustedMean != nil || team.GetAdjustmentNote() == "" {
		t.Errorf("fit counts 5 of the team's 6 reviews: adjusted %v note %q", team.AdjustedMean, team.GetAdjustmentNote())
	}
}

// TestAnnotateCriticalReviewKeepsItsZero: a critical review scores 0
// whatever its inspector's leniency (which is why the fit leaves it out):
// the adjusted mean subtracts no effect for it, and an inspector whose
// only reviews were critical does not stop the adjustment.
func TestAnnotateCriticalReviewKeepsItsZero(t *testing.T) {
	rows := []store.SeverityRow{
		{AgentID: "a1", InspectorID: "A", Score: 90, Status: store.ReviewFinal},
		{AgentID: "a1", InspectorID: "B", Score: 80, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "A", Score: 70, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "B", Score: 60, Status: store.ReviewFinal},
		{AgentID: "a2", InspectorID: "B", Score: 61, Status: store.ReviewFinal},
		// Critical: A's, and D's only review.
		{AgentID: "a1", InspectorID: "A", Score: 0, Critical: true, Status: store.ReviewFinal},
		{AgentID: "a1", InspectorID: "D", Score: 0, Critical: true, Status: store.ReviewFinal},
	}
	e := &severityEntry{rows: rows, byAgent: map[string][]int{}}
	var in []severity.Review
	for i, r := range rows {
		e.byAgent[r.AgentID] = append(e.byAgent[r.AgentID], i)
		if !r.Critical { // as compute does
			in = append(in, severity.Review{Agent: r.AgentID, Inspector: r.InspectorID, Score: r.Score})
		}
	}
	e.fit = severity.Estimate(in)
	effA, okA := e.fit.Effect("A")
	effB, okB := e.fit.Effect("B")
	if !okA || !okB || effA <= 0 {
		t.Fatalf("effects A %v (%v) B %v (%v)", effA, okA, effB, okB)
	}
	a1 := &qav1.Summary{Reviews: 4, Mean: (90 + 80 + 0 + 0) / 4.0}
	e.annotate(a1, []string{"a1"})
	want := a1.GetMean() - (effA+effB)/4
	if a1.AdjustedMean == nil || math.Abs(a1.GetAdjustedMean()-want) > 1e-9 {
		t.Errorf("a1 adjusted %v note %q, want %.4f (no effect removed from the two critical zeros)", a1.AdjustedMean, a1.GetAdjustmentNote(), want)
	}
}
