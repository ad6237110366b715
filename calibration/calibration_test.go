package calibration

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"qa-sampling/alpha"
)

var dims = []Dimension{{Key: "attitude", Max: 5}, {Key: "knowledge", Max: 5}}

func final(score float64, flags []string, values ...int) Final {
	f := Final{Ratings: map[string]Rating{}, Flags: flags, Score: score}
	for i, v := range values {
		if v < 0 {
			f.Ratings[dims[i].Key] = Rating{NA: true}
			continue
		}
		f.Ratings[dims[i].Key] = Rating{Value: v}
	}
	return f
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAgreementAndBiasAgainstBenchmark(t *testing.T) {
	in := Input{
		Chats: []string{"c1", "c2"}, Inspectors: []string{"qa-1", "qa-2"}, Benchmark: "bench",
		Dimensions: dims, Flags: []string{"abuse"},
		Finals: map[Key]Final{
			{"c1", "bench"}: final(80, nil, 4, 3),
			{"c2", "bench"}: final(60, nil, 2, 3),
			{"c1", "qa-1"}:  final(90, nil, 5, 4), // +1, +1
			{"c2", "qa-1"}:  final(70, nil, 3, -1),
			{"c1", "qa-2"}:  final(50, []string{"abuse"}, 2, 3), // −2, 0
			// qa-2 did not finish c2.
		},
	}
	res := Compute(in)
	if len(res.Units) != 4 {
		t.Fatalf("%d units, want 4", len(res.Units))
	}
	u := res.Units[0] // c1 attitude
	if u.Chat != "c1" || u.Dimension.Key != "attitude" || u.Benchmark == nil || u.Benchmark.Value != 4 {
		t.Fatalf("unit 0 = %+v", u)
	}
	if c := u.Cells[0]; !c.HasReference || c.Deviation != 1 || !near(c.Agreement, 0.8) || c.Deviates {
		t.Errorf("qa-1 on c1 attitude = %+v, want deviation 1, agreement 0.8, not highlighted", c)
	}
	if c := u.Cells[1]; c.Deviation != -2 || !near(c.Agreement, 0.6) || !c.Deviates {
		t.Errorf("qa-2 on c1 attitude = %+v, want deviation −2, agreement 0.6, highlighted", c)
	}
	if c := res.Units[3].Cells[0]; !c.NA || c.HasReference {
		t.Errorf("qa-1's N/A = %+v", c)
	}
	if c := res.Units[3].Cells[1]; !c.Missing {
		t.Errorf("qa-2's unfinished chat = %+v, want missing", c)
	}
	q1, q2 := res.Inspectors[0], res.Inspectors[1]
	// qa-1: deviations +1, +1, +1 (c2 attitude 3 vs 2) → bias 1, agreement 0.8.
	if q1.Compared != 3 || !near(q1.Bias, 1) || !near(q1.MeanAgreement, 0.8) || !near(q1.BiasPercent, 20) || !q1.AgainstBenchmark {
		t.Errorf("qa-1 = %+v", q1)
	}
	if !near(q1.ScoreBias, 10) || !near(q2.ScoreBias, -30) || q2.Finalised != 1 {
		t.Errorf("score bias qa-1 %v, qa-2 %v (finalised %d)", q1.ScoreBias, q2.ScoreBias, q2.Finalised)
	}
	if q2.Compared != 2 || !near(q2.Bias, -1) || !near(q2.MeanAgreement, 0.8) {
		t.Errorf("qa-2 = %+v", q2)
	}
	if b := res.Inspectors[2]; !b.Benchmark || b.Inspector != "bench" || b.Finalised != 2 {
		t.Errorf("benchmark row = %+v", b)
	}
	// Alpha over the same data computed by hand: units as percent values
	// of every participant, N/A and unfinished left out.
	want := alpha.Compute([][]float64{{100, 40, 80}, {80, 60, 60}, {60, 40}, {60}}, alpha.Interval)
	if !near(res.Interval.Alpha, want.Alpha) || res.Interval.Pairable != want.Pairable {
		t.Errorf("interval %+v, want %+v", res.Interval, want)
	}
	flags := alpha.Compute([][]float64{{0, 1, 0}, {0, 0}}, alpha.Nominal)
	if res.FlagsNominal.Pairable != flags.Pairable || res.FlagsNominal.Defined != flags.Defined {
		t.Errorf("flags %+v, want %+v", res.FlagsNominal, flags)
	}
	scores := alpha.Compute([][]float64{{90, 50, 80}, {70, 60}}, alpha.Interval)
	if !near(res.ScoreInterval.Alpha, scores.Alpha) {
		t.Errorf("scores %+v, want %+v", res.ScoreInterval, scores)
	}
}

func TestWithoutBenchmarkPeersAreTheReference(t *testing.T) {
	in := Input{Chats: []string{"c1"}, Inspectors: []string{"a", "b", "c"}, Dimensions: dims[:1],
		Finals: map[Key]Final{{"c1", "a"}: final(0, nil, 5), {"c1", "b"}: final(0, nil, 3), {"c1", "c"}: final(0, nil, 3)}}
	res := Compute(in)
	if c := res.Units[0].Cells[0]; c.Deviation != 2 || !c.Deviates {
		t.Errorf("a = %+v, want deviation 2 from the others' mean 3", c)
	}
	if r := res.Inspectors[0]; !near(r.Bias, 2) || r.AgainstBenchmark || r.Benchmark {
		t.Errorf("a = %+v", r)
	}
	if res.Units[0].Benchmark != nil || len(res.Inspectors) != 3 {
		t.Errorf("no benchmark expected: %+v", res)
	}
}

// benchInput is a session of inspectors × chats on the default rubric's
// five dimensions and three flags, everyone finished.
func benchInput(inspectors, chats int) Input {
	rng := rand.New(rand.NewPCG(3, 4))
	in := Input{Benchmark: "bench", Finals: map[Key]Final{}, Flags: []string{"abuse", "leak", "promise"}}
	for i := range 5 {
		in.Dimensions = append(in.Dimensions, Dimension{Key: fmt.Sprintf("d%d", i), Max: 5})
	}
	for i := range inspectors {
		in.Inspectors = append(in.Inspectors, fmt.Sprintf("qa-%d", i))
	}
	for c := range chats {
		chat := fmt.Sprintf("chat-%d", c)
		in.Chats = append(in.Chats, chat)
		for _, p := range append(in.Inspectors, "bench") {
			f := Final{Ratings: map[string]Rating{}, Score: rng.Float64() * 100}
			for _, d := range in.Dimensions {
				f.Ratings[d.Key] = Rating{Value: rng.IntN(6), NA: rng.IntN(20) == 0}
			}
			if rng.IntN(10) == 0 {
				f.Flags = []string{"abuse"}
			}
			in.Finals[Key{chat, p}] = f
		}
	}
	return in
}

// BenchmarkCompute20x10 is the figure: the results of a session of
// 20 inspectors × 10 chats (BENCHMARKS.md).
func BenchmarkCompute20x10(b *testing.B) {
	in := benchInput(20, 10)
	b.ReportAllocs()
	for b.Loop() {
		Compute(in)
	}
}
