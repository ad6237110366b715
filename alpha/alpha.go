// Package alpha computes Krippendorff's alpha, the chance-corrected
// agreement of several raters who each gave (or withheld) one value per
// unit, from its coincidence-matrix definition (Krippendorff 2011,
// "Computing Krippendorff's Alpha-Reliability"):
//
//	α = 1 − D_o / D_e = 1 − (n − 1) · Σ o_ck δ²_ck / Σ n_c n_k δ²_ck
//
// where o_ck counts the ordered pairs (c, k) of values given to one unit
// by different raters, each weighted 1/(m_u − 1) for the m_u values of
// the unit, n_c are the matrix's margins and n their sum (the pairable
// values). Units with fewer than two values are not pairable and left
// out; a missing value is simply absent from its unit.
package alpha

import (
	"math"
	"slices"
)

// Metric is the level of measurement, which fixes δ², the squared
// difference between two values.
type Metric int

// Metrics.
const (
	// Nominal: values are categories; any two different ones differ by 1.
	Nominal Metric = iota
	// Ordinal: values are ranks; their difference is how many values lie
	// between them in the data (the margins n_g from c to k, halving the
	// ends).
	Ordinal
	// Interval: (c − k)².
	Interval
	// Ratio: ((c − k) / (c + k))², for values ≥ 0.
	Ratio
)

func (m Metric) String() string {
	switch m {
	case Nominal:
		return "nominal"
	case Ordinal:
		return "ordinal"
	case Interval:
		return "interval"
	case Ratio:
		return "ratio"
	}
	return "unknown"
}

// Krippendorff's thresholds for drawing conclusions from the data.
const (
	// Reliable is the smallest alpha he accepts for conclusions.
	Reliable = 0.800
	// Tentative is the smallest alpha for tentative conclusions.
	Tentative = 0.667
)

// Verdicts of an alpha.
const (
	VerdictReliable   = "reliable"
	VerdictTentative  = "tentative"
	VerdictUnreliable = "unreliable"
	// VerdictUndefined: fewer than two pairable values, or no variation
	// at all (every pairable value the same), so D_e is 0.
	VerdictUndefined = "undefined"
)

// Result is one alpha.
type Result struct {
	// Alpha is NaN when undefined.
	Alpha float64
	// Defined is false when the data cannot give an alpha.
	Defined bool
	// Pairable is n: the values in units with at least two values.
	Pairable int
	// Units is the number of pairable units.
	Units int
}

// Verdict says what Krippendorff's thresholds make of the result.
func (r Result) Verdict() string {
	switch {
	case !r.Defined:
		return VerdictUndefined
	case r.Alpha >= Reliable:
		return VerdictReliable
	case r.Alpha >= Tentative:
		return VerdictTentative
	}
	return VerdictUnreliable
}

// Compute returns alpha over units, each the values the raters gave it
// (missing values left out, in any order), under metric m.
//
// The coincidence matrix is not materialised: its margins n_c are the
// counts of each value over the pairable units, and Σ o_ck δ²_ck is summed
// unit by unit over the unit's own distinct values, since o_ck =
// Σ_u n_uc·n_uk / (m_u − 1). A session's final scores are almost all
// distinct, and a dense V × V matrix of them would cost V² per unit.
func Compute(units [][]float64, m Metric) Result {
	// The distinct values of the pairable units, sorted: the rows and
	// columns of the coincidence matrix.
	var values []float64
	for _, u := range units {
		if len(u) >= 2 {
			values = append(values, u...)
		}
	}
	slices.Sort(values)
	values = slices.Compact(values)
	index := func(x float64) int { i, _ := slices.BinarySearch(values, x); return i }

	res := Result{Alpha: math.NaN()}
	margins := make([]float64, len(values))
	for _, u := range units {
		if len(u) < 2 {
			continue
		}
		res.Units++
		res.Pairable += len(u)
		for _, x := range u {
			margins[index(x)]++
		}
	}
	if res.Pairable < 2 {
		return res
	}
	delta := deltaFunc(m, values, margins)

	// Observed: per unit, its distinct values with their counts.
	type valueCount struct{ index, count int }
	var observed float64
	var present []valueCount
	for _, u := range units {
		if len(u) < 2 {
			continue
		}
		present = present[:0]
		for _, x := range u {
			i := index(x)
			if k := slices.IndexFunc(present, func(vc valueCount) bool { return vc.index == i }); k >= 0 {
				present[k].count++
			} else {
				present = append(present, valueCount{i, 1})
			}
		}
		var sum float64
		for a, c := range present {
			for _, k := range present[a+1:] {
				sum += 2 * float64(c.count*k.count) * delta(c.index, k.index)
			}
		}
		observed += sum / float64(len(u)-1)
	}
	var expected float64
	for c := range values {
		for k := c + 1; k < len(values); k++ {
			expected += 2 * margins[c] * margins[k] * delta(c, k)
		}
	}
	if expected == 0 {
		return res
	}
	res.Alpha = 1 - float64(res.Pairable-1)*observed/expected
	res.Defined = true
	return res
}

// deltaFunc returns δ² between the values of index c and k.
func deltaFunc(m Metric, values, margins []float64) func(c, k int) float64 {
	switch m {
	case Ordinal:
		// Cumulative margins make each δ² two subtractions.
		cum := make([]float64, len(margins)+1)
		for i, nm := range margins {
			cum[i+1] = cum[i] + nm
		}
		return func(c, k int) float64 {
			if c > k {
				c, k = k, c
			}
			d := cum[k+1] - cum[c] - (margins[c]+margins[k])/2
			return d * d
		}
	case Interval:
		return func(c, k int) float64 { d := values[c] - values[k]; return d * d }
	case Ratio:
		return func(c, k int) float64 {
			s := values[c] + values[k]
			if s == 0 {
				return 0
			}
			d := (values[c] - values[k]) / s
			return d * d
		}
	}
	return func(c, k int) float64 {
		if c == k {
			return 0
		}
		return 1
	}
}
