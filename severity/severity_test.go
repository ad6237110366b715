package severity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// world is generated data whose truth is known: each agent's level and
// each inspector's leniency in points.
type world struct {
	level    map[string]float64
	leniency map[string]float64
	reviews  []Review
}

// generate makes agents × perAgent reviews, each by an inspector drawn at
// random (assignment rotates inspectors across agents), score = level +
// leniency + noise(sd).
func generate(rng *rand.Rand, agents, perAgent int, leniency []float64, sd float64) world {
	w := world{level: map[string]float64{}, leniency: map[string]float64{}}
	for i, l := range leniency {
		w.leniency[fmt.Sprintf("insp-%02d", i)] = l
	}
	for a := range agents {
		id := fmt.Sprintf("agent-%04d", a)
		w.level[id] = 78 + 8*rng.NormFloat64()
		for range perAgent {
			in := fmt.Sprintf("insp-%02d", rng.IntN(len(leniency)))
			w.reviews = append(w.reviews, Review{Agent: id, Inspector: in, Score: w.level[id] + w.leniency[in] + sd*rng.NormFloat64()})
		}
	}
	return w
}

func TestLenientInspectorStandsOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// insp-03 scores ten points above the others.
	w := generate(rng, 300, 8, []float64{0, 0, 0, 10, 0, 0, 0, 0}, 8)
	f := Estimate(w.reviews)
	for _, in := range f.Inspectors {
		if !in.Identifiable || !in.IntervalOK {
			t.Fatalf("%s: not estimated (%s)", in.ID, in.Reason)
		}
		if in.Low > in.High || in.Severity < in.Low || in.Severity > in.High {
			t.Errorf("%s: severity %.2f outside its interval [%.2f, %.2f]", in.ID, in.Severity, in.Low, in.High)
		}
	}
	lenient, _ := f.Inspector("insp-03")
	if math.Abs(lenient.Severity-10) > 2 || lenient.Low <= 0 {
		t.Errorf("lenient inspector: severity %.2f [%.2f, %.2f], want about +10 with an interval excluding 0", lenient.Severity, lenient.Low, lenient.High)
	}
	if lenient.Low > 10 || lenient.High < 10 {
		t.Errorf("lenient inspector: interval [%.2f, %.2f] misses the truth 10", lenient.Low, lenient.High)
	}
	for _, in := range f.Inspectors {
		if in.ID != "insp-03" && (in.Severity < -4 || in.Severity > 0.5) {
			// Peers of a +10 inspector sit slightly below the others' mean
			// that includes them: −10/7 ≈ −1.4 points.
			t.Errorf("%s: severity %.2f, want about −1.4", in.ID, in.Severity)
		}
	}

	// The adjusted means remove most of the bias: regress each agent's
	// error on the share of their reviews by the lenient inspector.
	rawSlope, adjSlope := biasSlopes(t, w, f)
	if rawSlope < 7 {
		t.Fatalf("raw means' bias slope %.2f: the data should carry about 10 points of bias", rawSlope)
	}
	if math.Abs(adjSlope) > 0.2*rawSlope {
		t.Errorf("adjusted means keep a bias slope of %.2f points (raw %.2f): want most of it removed", adjSlope, rawSlope)
	}
}

// biasSlopes regresses each agent's raw and adjusted mean errors on the
// share of their reviews by the lenient inspector insp-03.
func biasSlopes(t *testing.T, w world, f *Fit) (raw, adj float64) {
	t.Helper()
	type agg struct {
		scores     []float64
		inspectors []string
	}
	by := map[string]*agg{}
	for _, r := range w.reviews {
		a := by[r.Agent]
		if a == nil {
			a = &agg{}
			by[r.Agent] = a
		}
		a.scores = append(a.scores, r.Score)
		a.inspectors = append(a.inspectors, r.Inspector)
	}
	var xs, rawErr, adjErr []float64
	for id, a := range by {
		var sum, lenient float64
		for k, s := range a.scores {
			sum += s
			if a.inspectors[k] == "insp-03" {
				lenient++
			}
		}
		m, ok := f.AdjustedMean(a.scores, a.inspectors)
		if !ok {
			t.Fatalf("%s: no adjusted mean", id)
		}
		xs = append(xs, lenient/float64(len(a.scores)))
		rawErr = append(rawErr, sum/float64(len(a.scores))-w.level[id])
		adjErr = append(adjErr, m-w.level[id])
	}
	return olsSlope(xs, rawErr), olsSlope(xs, adjErr)
}

func olsSlope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(x))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	return sxy / sxx
}

func TestExactWithoutNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := generate(rng, 50, 6, []float64{-6, 0, 3, 9}, 0)
	f := Estimate(w.reviews)
	// Severity of i = leniency_i − review-weighted mean leniency of peers.
	n := map[string]float64{}
	for _, r := range w.reviews {
		n[r.Inspector]++
	}
	for _, in := range f.Inspectors {
		var peers, total float64
		for id, c := range n {
			if id != in.ID {
				peers += c * w.leniency[id]
				total += c
			}
		}
		want := w.leniency[in.ID] - peers/total
		if math.Abs(in.Severity-want) > 1e-9 {
			t.Errorf("%s: severity %.6f, want %.6f", in.ID, in.Severity, want)
		}
	}
}

func TestNotIdentifiable(t *testing.T) {
	reviews := []Review{
		// A and B share agents a1 and a2.
		{"a1", "A", 80}, {"a1", "B", 85}, {"a2", "A", 70}, {"a2", "B", 76}, {"a1", "A", 82}, {"a2", "B", 74},
		// C saw only a1.
		{"a1", "C", 99}, {"a1", "C", 97},
		// D alone with agents nobody else saw.
		{"a8", "D", 60}, {"a9", "D", 65},
	}
	f := Estimate(reviews)
	want := map[string]string{"A": "", "B": "", "C": ReasonOneAgent, "D": ReasonAlone}
	for id, reason := range want {
		in, ok := f.Inspector(id)
		if !ok {
			t.Fatalf("%s missing", id)
		}
		if in.Identifiable != (reason == "") || (reason != "" && in.Reason != reason) {
			t.Errorf("%s: identifiable %v reason %q, want reason %q", id, in.Identifiable, in.Reason, reason)
		}
	}
	if _, ok := f.AdjustedMean([]float64{99, 80}, []string{"C", "A"}); ok {
		t.Error("a mean resting on C's review was adjusted")
	}
	if m, ok := f.AdjustedMean([]float64{80}, []string{"A"}); !ok || m <= 80 {
		t.Errorf("A is strict next to B: adjusted %.2f (ok %v), want above 80", m, ok)
	}
	if _, ok := f.Inspector("nobody"); ok {
		t.Error("an unknown inspector has an estimate")
	}
	if f := Estimate(nil); len(f.Inspectors) != 0 || f.Used != 0 {
		t.Errorf("no reviews: %+v", f)
	}
}

// TestIntervalCoverage: over repeated worlds, an inspector's 95% interval
// holds the truth about 95% of the time.
func TestIntervalCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const runs = 200
	covered := 0
	for range runs {
		w := generate(rng, 40, 5, []float64{0, 0, 5, 0, -5}, 10)
		f := Estimate(w.reviews)
		in, _ := f.Inspector("insp-02")
		n := map[string]float64{}
		for _, r := range w.reviews {
			n[r.Inspector]++
		}
		var peers, total float64
		for id, c := range n {
			if id != in.ID {
				peers += c * w.leniency[id]
				total += c
			}
		}
		truth := w.leniency[in.ID] - peers/total
		if in.Low <= truth && truth <= in.High {
			covered++
		}
	}
	if share := float64(covered) / runs; share < 0.90 || share > 0.99 {
		t.Errorf("coverage %.3f over %d runs, want about 0.95", share, runs)
	}
}

func BenchmarkEstimate120k(b *testing.B) {
	// 2,000 agents × 32 inspectors × 12 weeks: 5 reviews per agent-week.
	rng := rand.New(rand.NewPCG(7, 8))
	len32 := make([]float64, 32)
	for i := range len32 {
		len32[i] = 3 * rng.NormFloat64()
	}
	w := generate(rng, 2000, 60, len32, 9)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Estimate(w.reviews)
	}
}
