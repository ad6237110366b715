package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// agreedMetrics are the business metrics of issue 8, named across the
// helpers that add them, and the ingest metrics that keep their names:
// the dashboard may reference them before every one is registered.
var agreedMetrics = []string{
	"qa_auth_failures_total", "qa_malformed_requests_total",
	"qa_sampling_run_duration_seconds", "qa_sampling_run_picks_total", "qa_sampling_run_shortfall_total",
	"qa_sampling_last_success_timestamp_seconds",
	"qa_review_items_open", "qa_reviews_finalised_total", "qa_feedback_unacked",
	"qa_feedback_unacked_oldest_age_seconds", "qa_disputes_open", "qa_feedback_watch_subscribers",
	"qa_ingest_items_total", "qa_ingest_batch_transcripts", "qa_ingest_commit_seconds",
}

const dashboardFile = "../deploy/grafana/qa-sampling.json"

// scrape is one /metrics page: sample values by series ("name{labels}"
// as exposed) and every name it declares, with a histogram's or summary's
// _bucket, _sum and _count.
type scrape struct {
	values map[string]float64
	names  map[string]bool
}

func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	s := scrape{values: map[string]float64{}, names: map[string]bool{}}
	lines := bufio.NewScanner(strings.NewReader(string(body)))
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(rest, " ")
			s.names[name] = true
			if kind == "histogram" || kind == "summary" {
				s.names[name+"_bucket"], s.names[name+"_sum"], s.names[name+"_count"] = true, true, true
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		s.values[line[:i]] = v
	}
	return s
}

// value is the sample of series (as exposed, labels sorted by name).
func (s scrape) value(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := s.values[series]
	if !ok {
		t.Fatalf("/metrics lacks %s", series)
	}
	return v
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promLabelSet = regexp.MustCompile(`\{[^}]*\}`)
	promWord     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	labelValues  = regexp.MustCompile(`label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
)

// dashboardMetrics returns the metric names the dashboard's queries use.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	found := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if s, ok := child.(string); ok && k == "expr" {
					for _, name := range exprMetrics(s) {
						found[name] = true
					}
				}
				if s, ok := child.(string); ok && k == "definition" {
					for _, m := range labelValues.FindAllStringSubmatch(s, -1) {
						found[m[1]] = true
					}
				}
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(doc)
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// exprMetrics returns the metric names of a PromQL expression: the words
// left once strings, label sets, ranges, grouping clauses, function calls
// and keywords are taken out.
func exprMetrics(expr string) []string {
	expr = promStrings.ReplaceAllString(expr, `""`)
	expr = promLabelSet.ReplaceAllString(expr, " ")
	expr = promRanges.ReplaceAllString(expr, " ")
	expr = promGrouping.ReplaceAllString(expr, " ")
	var out []string
	for _, w := range promWord.FindAllString(expr, -1) {
		if strings.HasSuffix(w, "(") || promKeywords[strings.ToLower(w)] {
			continue
		}
		out = append(out, w)
	}
	return out
}

func TestExprMetrics(t *testing.T) {
	got := exprMetrics(`histogram_quantile(0.95, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket{job=~"$job",x="a b"}[$__rate_interval]))) / on (job) group_left up or vector(0)`)
	if want := []string{"grpc_server_handling_seconds_bucket", "up"}; !slices.Equal(got, want) {
		t.Errorf("exprMetrics = %v, want %v", got, want)
	}
}

// TestMetricsAfterFinalise scrapes a real qad after a sampling run and a
// final review, checks the business metrics, and checks that the shipped
// Grafana dashboard uses only metrics the server serves or the agreed
// names, and shows every qa_ metric the server serves.
func TestMetricsAfterFinalise(t *testing.T) {
	const week = "2026-W46"
	metricsAddr := freePort(t)
	w := newWorld(t, t.TempDir()+"/qa.db", defaultOrg, "--metrics-listen", metricsAddr)
	w.setupGRPC()
	w.pushWeek(week, 2)
	picks := w.runWeek(week)
	assigned := 0
	for _, p := range picks {
		if p.GetStatus() == "assigned" {
			assigned++
		}
	}
	w.finalize(picksOf(t, picks, "a1")[0], "attitude=3,knowledge=3,efficiency=3,communication=3,compliance=3")

	s := scrapeMetrics(t, metricsAddr)
	for series, want := range map[string]float64{
		"qa_reviews_finalised_total":                                 1,
		`qa_review_items_open{status="assigned"}`:                    float64(assigned - 1),
		`qa_review_items_open{status="disputed"}`:                    0,
		"qa_feedback_unacked":                                        1,
		"qa_disputes_open":                                           0,
		"qa_feedback_watch_subscribers":                              0,
		"qa_sampling_run_picks_total":                                float64(len(picks)),
		`qa_ingest_items_total{kind="transcript",status="accepted"}`: 6,
	} {
		if got := s.value(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if age := s.value(t, "qa_feedback_unacked_oldest_age_seconds"); age < 0 {
		t.Errorf("oldest unacknowledged age %v", age)
	}
	if at := s.value(t, `qa_sampling_last_success_timestamp_seconds{week="`+week+`"}`); at <= 0 {
		t.Errorf("last success of %s at %v", week, at)
	}

	used := dashboardMetrics(t)
	for _, name := range used {
		if !s.names[name] && !slices.Contains(agreedMetrics, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")) {
			t.Errorf("%s uses %s, which qad does not serve and is not an agreed name", dashboardFile, name)
		}
	}
	shown := func(name string) bool {
		return slices.ContainsFunc(used, func(u string) bool { return u == name || strings.HasPrefix(u, name+"_") })
	}
	for _, name := range agreedMetrics {
		if !shown(name) {
			t.Errorf("%s has no panel for %s", dashboardFile, name)
		}
	}
	for name := range s.names {
		if strings.HasPrefix(name, "qa_") && !strings.HasSuffix(name, "_bucket") && !strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") && !shown(name) {
			t.Errorf("qad serves %s, but %s has no panel for it", name, dashboardFile)
		}
	}
}
