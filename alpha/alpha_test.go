package alpha

import (
	"math"
	"math/rand/v2"
	"testing"
)

// krippendorff2011 is the reliability data of Krippendorff's "Computing
// Krippendorff's Alpha-Reliability" (2011), section C: four observers,
// twelve units, missing values as -1. Rows are observers A–D.
var krippendorff2011 = [4][12]float64{
	{1, 2, 3, 3, 2, 1, 4, 1, 2, -1, -1, -1},
	{1, 2, 3, 3, 2, 2, 4, 1, 2, 5, -1, 3},
	{-1, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, -1},
	{1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, -1},
}

func unitsOf(data [4][12]float64) [][]float64 {
	units := make([][]float64, 12)
	for _, row := range data {
		for u, x := range row {
			if x >= 0 {
				units[u] = append(units[u], x)
			}
		}
	}
	return units
}

func TestKrippendorff2011(t *testing.T) {
	units := unitsOf(krippendorff2011)
	for _, tc := range []struct {
		metric Metric
		want   float64
	}{{Nominal, 0.743}, {Ordinal, 0.815}, {Interval, 0.849}, {Ratio, 0.797}} {
		r := Compute(units, tc.metric)
		if !r.Defined || math.Abs(r.Alpha-tc.want) >= 0.0005 {
			t.Errorf("%s alpha = %.4f (defined %v), want %.3f", tc.metric, r.Alpha, r.Defined, tc.want)
		}
		// Unit 12 has one value: not pairable. The paper's n is 40.
		if r.Pairable != 40 || r.Units != 11 {
			t.Errorf("%s: pairable %d in %d units, want 40 in 11", tc.metric, r.Pairable, r.Units)
		}
	}
}

func TestPerfectAgreementIsOne(t *testing.T) {
	units := [][]float64{{1, 1, 1}, {3, 3}, {5, 5, 5, 5}, {2, 2}, {7}}
	for _, m := range []Metric{Nominal, Ordinal, Interval, Ratio} {
		if r := Compute(units, m); !r.Defined || r.Alpha != 1 {
			t.Errorf("%s: %+v, want alpha 1", m, r)
		}
	}
}

func TestUndefinedWithoutVariation(t *testing.T) {
	for name, units := range map[string][][]float64{
		"one value":        {{3, 3, 3}, {3, 3}},
		"nothing pairable": {{1}, {2}, {}},
		"empty":            nil,
	} {
		r := Compute(units, Interval)
		if r.Defined || !math.IsNaN(r.Alpha) || r.Verdict() != VerdictUndefined {
			t.Errorf("%s: %+v, want undefined", name, r)
		}
	}
}

// Values that have nothing to do with the unit they were given to: each
// rater's values are one fixed multiset shuffled across units. Alpha is
// then about 0, under every metric.
func TestShuffledRatingsAboutZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const raters, nUnits = 5, 400
	units := make([][]float64, nUnits)
	base := make([]float64, nUnits)
	for i := range base {
		base[i] = float64(1 + i%5)
	}
	for range raters {
		perm := rng.Perm(nUnits)
		for u := range units {
			units[u] = append(units[u], base[perm[u]])
		}
	}
	for _, m := range []Metric{Nominal, Ordinal, Interval, Ratio} {
		r := Compute(units, m)
		if !r.Defined || math.Abs(r.Alpha) > 0.05 {
			t.Errorf("%s: alpha %.3f, want about 0", m, r.Alpha)
		}
	}
}

// Raters who always disagree systematically go below 0.
func TestSystematicDisagreementNegative(t *testing.T) {
	units := [][]float64{{1, 5}, {5, 1}, {1, 5}, {5, 1}}
	if r := Compute(units, Interval); r.Alpha >= 0 {
		t.Errorf("alpha %.3f, want < 0", r.Alpha)
	}
}

func TestVerdicts(t *testing.T) {
	for a, want := range map[float64]string{0.9: VerdictReliable, 0.8: VerdictReliable, 0.7: VerdictTentative,
		0.667: VerdictTentative, 0.5: VerdictUnreliable, -0.2: VerdictUnreliable} {
		if got := (Result{Alpha: a, Defined: true}).Verdict(); got != want {
			t.Errorf("verdict(%v) = %s, want %s", a, got, want)
		}
	}
}

// The order of a unit's values and of the units does not matter.
func TestOrderInvariant(t *testing.T) {
	units := unitsOf(krippendorff2011)
	want := Compute(units, Ordinal).Alpha
	rev := make([][]float64, len(units))
	for i, u := range units {
		r := append([]float64(nil), u...)
		for a, b := 0, len(r)-1; a < b; a, b = a+1, b-1 {
			r[a], r[b] = r[b], r[a]
		}
		rev[len(units)-1-i] = r
	}
	if got := Compute(rev, Ordinal).Alpha; math.Abs(got-want) > 1e-12 {
		t.Errorf("reordered %.6f, want %.6f", got, want)
	}
}
