package main

import (
	"encoding/json"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

func TestTrendChart(t *testing.T) {
	got := trendChart([]*qav1.WeekPoint{
		{Week: "2026-W44", Reviews: 3, Mean: 82.4},
		{Week: "2026-W45", Reviews: 0},
		{Week: "2026-W46", Reviews: 12, Mean: 100},
		{Week: "2026-W47", Reviews: 1, Mean: 0},     // one review made 0 by a red line
		{Week: "2026-W48", Reviews: 2, Mean: 101.5}, // never wider than 100
		{Week: "2026-W49", Reviews: 2, Mean: 1.6},
	})
	want := "" +
		"  2026-W44    3   82.40  █████████████████████████\n" +
		"  2026-W45    0       —\n" +
		"  2026-W46   12  100.00  ██████████████████████████████\n" +
		"  2026-W47    1    0.00\n" +
		"  2026-W48    2  101.50  ██████████████████████████████\n" +
		"  2026-W49    2    1.60\n"
	if got != want {
		t.Errorf("chart:\n%s\nwant:\n%s", got, want)
	}
	if trendChart(nil) != "" {
		t.Errorf("no points should draw nothing")
	}
}

func agentReport() *qav1.AgentReport {
	return &qav1.AgentReport{
		AgentId: "a1", Name: "王芳", TeamId: "t1", Weeks: []string{"2026-W45", "2026-W46", "2026-W47"},
		Summary: &qav1.Summary{
			Reviews: 5, Mean: 82.4, Ci95: &qav1.ConfidenceInterval{Low: 78.1, High: 86.7}, StdDev: 3.5, Critical: 1,
			Dimensions: []*qav1.DimensionAverage{{Key: "attitude", Rated: 5, Mean: 84}, {Key: "knowledge", Rated: 0}},
			Trend: []*qav1.WeekPoint{
				{Week: "2026-W45", Reviews: 2, Mean: 80}, {Week: "2026-W46"}, {Week: "2026-W47", Reviews: 3, Mean: 84},
			},
			Slope: 1.2,
		},
	}
}

func TestReportAgent(t *testing.T) {
	addr := startFakeQA(t, &fakeQA{agentReport: agentReport()})

	res := runQactl(t, "", "--addr", addr, "report", "agent", "a1", "--weeks", "3")
	want := "agent a1 (王芳), team t1, weeks 2026-W45..2026-W47\n" +
		"reviews      5\n" +
		"mean score   82.40 (n=5; 95% CI 78.10–86.70)\n" +
		"std dev      3.50\n" +
		"critical     1\n" +
		"dimensions rated (mean % of scale):\n" +
		"  attitude  84.00  (n=5)\n" +
		"weekly trend (reviews, mean, bar 0..100):\n" +
		"  2026-W45    2   80.00  ████████████████████████\n" +
		"  2026-W46    0       —\n" +
		"  2026-W47    3   84.00  █████████████████████████\n" +
		"slope        +1.2 per week\n"
	if res.code != exitOK || res.stdout != want {
		t.Errorf("exit %d, stderr %q\nstdout:\n%s\nwant:\n%s", res.code, res.stderr, res.stdout, want)
	}

	res = runQactl(t, "", "--addr", addr, "--json", "report", "agent", "a1")
	var decoded struct {
		Report struct {
			AgentID string `json:"agent_id"`
			Summary struct {
				Ci95 struct{ Low float64 } `json:"ci95"`
			} `json:"summary"`
		} `json:"report"`
	}
	if res.code != exitOK || strings.Count(res.stdout, "\n") != 1 || json.Unmarshal([]byte(res.stdout), &decoded) != nil ||
		decoded.Report.AgentID != "a1" || decoded.Report.Summary.Ci95.Low != 78.1 {
		t.Errorf("--json: exit %d, stdout %q", res.code, res.stdout)
	}
}

func TestSummaryWithFewReviews(t *testing.T) {
	var b strings.Builder
	writeSummary(&b, &qav1.Summary{Reviews: 1, Mean: 70, Trend: []*qav1.WeekPoint{{Week: "2026-W47", Reviews: 1, Mean: 70}}})
	for _, want := range []string{"mean score   70.00 (n=1; 95% CI n/a with fewer than 2 reviews)\n", "slope        n/a with fewer than 2 weeks of reviews\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	// Three spread reviews: the t interval reaches beyond 0–100, and the
	// server's minimum is 4.
	b.Reset()
	writeSummary(&b, &qav1.Summary{Reviews: 3, Mean: 46.67, StdDev: 41.63, TooFewReviews: true, MinReviews: 4,
		Ci95: &qav1.ConfidenceInterval{Low: 0, High: 100, RawLow: -56.76, RawHigh: 150.09, Clamped: true}})
	if want := "mean score   46.67 (n=3, too few reviews: fewer than 4; 95% CI 0.00–100.00 clamped to 0–100, t interval -56.76 to 150.09)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, b.String())
	}
	b.Reset()
	writeSummary(&b, &qav1.Summary{})
	if !strings.Contains(b.String(), "mean score   n/a (no reviews)\n") {
		t.Errorf("empty summary:\n%s", b.String())
	}
}

func TestTeamReportText(t *testing.T) {
	a := agentReport()
	b := &qav1.AgentReport{AgentId: "a2", Name: "Chen Jie", Summary: &qav1.Summary{Reviews: 1, Mean: 65, TooFewReviews: true, MinReviews: 3}}
	c := &qav1.AgentReport{AgentId: "a3", Name: "Li", Summary: &qav1.Summary{Reviews: 3, Mean: 46.67,
		Ci95: &qav1.ConfidenceInterval{Low: 0, High: 100, RawLow: -56.76, RawHigh: 150.09, Clamped: true}}}
	got := formatTeamReport(&qav1.TeamReport{
		TeamId: "t1", Weeks: a.GetWeeks(), Summary: &qav1.Summary{Reviews: 9, Mean: 72.3},
		Agents:            []*qav1.AgentReport{a, b, c},
		FailingDimensions: []*qav1.IssueCount{{Key: "efficiency", Count: 3, Share: 0.5}},
	})
	for _, want := range []string{
		"team t1, weeks 2026-W45..2026-W47\n",
		"  ID  REVIEWS  MEAN                     95% CI                 CRITICAL  NAME\n",
		"  a1  5        82.40                    78.10–86.70            1         王芳\n",
		"  a2  1        65.00 (too few reviews)  n/a                    0         Chen Jie\n",
		"  a3  3        46.67                    0.00–100.00 (clamped)  0         Li\n",
		"common issues (共性问题) over 9 reviews:\n  failing dimensions:\n    efficiency  3  50.0%\n  critical flags: none\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("team report lacks %q:\n%s", want, got)
		}
	}
}

// TestReportTextShowsCheckRates: the agent and team reports' text lists
// each check's rate with its own chats (those it ran on), "-" for a check
// that ran on none, and nothing when the server sent no rates.
func TestReportTextShowsCheckRates(t *testing.T) {
	rates := []*qav1.CheckRate{
		{Check: "slow_first_response"},
		{Check: "no_empathy", Chats: 4, Fired: 2, Rate: 0.5},
		{Check: "no_greeting", Chats: 6, Fired: 0},
	}
	a := agentReport()
	a.CheckRates = rates
	for name, got := range map[string]string{
		"agent": formatAgentReport(a),
		"team":  formatTeamReport(&qav1.TeamReport{TeamId: "t1", Weeks: a.GetWeeks(), Summary: &qav1.Summary{}, CheckRates: rates}),
	} {
		for _, want := range []string{
			"automatic checks over all chats (fired of the chats each ran on):\n",
			"  CHECK                FIRED  CHATS  RATE\n",
			"  slow_first_response  0      0      -\n",
			"  no_empathy           2      4      50.0%\n",
			"  no_greeting          0      6      0.0%\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("%s report lacks %q:\n%s", name, want, got)
			}
		}
	}
	if got := formatAgentReport(agentReport()); strings.Contains(got, "automatic checks") {
		t.Errorf("a report without rates prints a check section:\n%s", got)
	}
}
