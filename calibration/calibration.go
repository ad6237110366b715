// Package calibration turns the final reviews of a calibration session
// into its results (SPEC §2 calibration, §11): per (chat, dimension) every
// participant's rating and its agreement with the reference, each
// inspector's mean agreement and bias, and Krippendorff's alpha over the
// ratings (interval and ordinal), the critical flags (nominal) and the
// final scores (interval). It is pure: no store, no gRPC.
//
// The reference of a rating is the benchmark's rating of the same unit;
// without a benchmark (or where the benchmark marked it N/A or did not
// finish), the mean of the other participants' ratings. Agreement is
// 1 − |r − reference| / max; bias is the mean signed deviation r −
// reference, in rating points. Alpha counts every participant, the
// benchmark included, as a rater; ratings enter it as 100·value/max so
// that dimensions on different scales are comparable (on one common
// scale this changes nothing: interval alpha is scale-free and ordinal
// alpha uses ranks only); N/A and unfinished reviews are missing values.
package calibration

import (
	"math"

	"qa-sampling/alpha"
)

// DeviationShare is how far from the reference, as a share of the scale,
// a rating must be to be highlighted: 2 points or more on a 0..5 scale.
const DeviationShare = 0.3

// Dimension is one rated dimension of the session's rubric.
type Dimension struct {
	Key, Name string
	Max       int
}

// Rating is one dimension's rating in a final review.
type Rating struct {
	Value int
	NA    bool
}

// Final is a participant's final review of one chat.
type Final struct {
	Ratings map[string]Rating // by dimension key
	Flags   []string
	Score   float64
}

// Input is a session and its final reviews.
type Input struct {
	Chats []string
	// Inspectors are the participants other than the benchmark.
	Inspectors []string
	// Benchmark is empty when the session has none.
	Benchmark  string
	Dimensions []Dimension
	// Flags are the rubric's critical flag keys.
	Flags []string
	// Finals maps (chat, participant) to the final review; a participant
	// who did not finalise a chat is absent.
	Finals map[Key]Final
}

// Key names one participant's review of one chat.
type Key struct{ Chat, Inspector string }

// Cell is one participant's rating of one unit.
type Cell struct {
	Inspector string
	Value     int
	NA        bool
	// Missing: no final review of the chat.
	Missing bool
	// HasReference: a reference existed and the rating is a value, so
	// Deviation and Agreement are set.
	HasReference bool
	Deviation    float64
	Agreement    float64
	// Deviates: |Deviation| ≥ DeviationShare of the scale.
	Deviates bool
}

// Unit is one (chat, dimension) with every participant's rating.
type Unit struct {
	Chat      string
	Dimension Dimension
	// Cells are the inspectors' ratings, in Input.Inspectors order.
	Cells []Cell
	// Benchmark is the benchmark's rating; nil without a benchmark.
	Benchmark *Cell
	// Mean is the mean of the inspectors' values (NaN if none).
	Mean float64
}

// InspectorResult sums up one participant.
type InspectorResult struct {
	Inspector string
	Benchmark bool
	Finalised int // chats with a final review
	// Compared counts the ratings with a reference; MeanAgreement and
	// Bias are NaN when it is 0.
	Compared      int
	MeanAgreement float64
	// Bias is the mean signed deviation in rating points; BiasPercent the
	// same as a share of each rating's scale, ×100.
	Bias, BiasPercent float64
	// ScoreBias is the mean signed deviation of final scores (points of
	// 0..100) from the reference score, NaN without any.
	ScoreBias float64
	// AgainstBenchmark: the reference was the benchmark (else the peers).
	AgainstBenchmark bool
}

// Results are a session's results.
type Results struct {
	Units      []Unit
	Inspectors []InspectorResult
	// Interval and Ordinal: ratings over (chat, dimension) units.
	Interval, Ordinal alpha.Result
	// FlagsNominal: raised or not over (chat, flag) units.
	FlagsNominal alpha.Result
	// ScoreInterval: final scores over chats.
	ScoreInterval alpha.Result
}

type acc struct {
	n                          int
	agree, dev, devPct         float64
	scoreN                     int
	scoreDev                   float64
	againstBenchmark, anyPeers bool
}

// Compute returns the results of in.
func Compute(in Input) Results {
	var res Results
	participants := append(append([]string(nil), in.Inspectors...), in.Benchmark)
	if in.Benchmark == "" {
		participants = participants[:len(participants)-1]
	}
	accs := make(map[string]*acc, len(participants))
	for _, p := range participants {
		accs[p] = &acc{}
	}
	ratingUnits := make([][]float64, 0, len(in.Chats)*len(in.Dimensions))
	cell := func(chat, insp string, d Dimension) Cell {
		f, ok := in.Finals[Key{chat, insp}]
		if !ok {
			return Cell{Inspector: insp, Missing: true}
		}
		r, ok := f.Ratings[d.Key]
		if !ok {
			return Cell{Inspector: insp, NA: true}
		}
		return Cell{Inspector: insp, Value: r.Value, NA: r.NA}
	}
	for _, chat := range in.Chats {
		for _, d := range in.Dimensions {
			u := Unit{Chat: chat, Dimension: d, Cells: make([]Cell, len(in.Inspectors))}
			values := make([]float64, 0, len(participants))
			var sum float64
			var n int
			for i, insp := range in.Inspectors {
				u.Cells[i] = cell(chat, insp, d)
				if c := u.Cells[i]; !c.Missing && !c.NA {
					sum += float64(c.Value)
					n++
					values = append(values, percent(c.Value, d.Max))
				}
			}
			u.Mean = math.NaN()
			if n > 0 {
				u.Mean = sum / float64(n)
			}
			var bench *Cell
			if in.Benchmark != "" {
				b := cell(chat, in.Benchmark, d)
				bench = &b
				if !b.Missing && !b.NA {
					values = append(values, percent(b.Value, d.Max))
				}
			}
			for i := range u.Cells {
				c := &u.Cells[i]
				if c.Missing || c.NA {
					continue
				}
				ref, ok, againstBench := 0.0, false, false
				if bench != nil && !bench.Missing && !bench.NA {
					ref, ok, againstBench = float64(bench.Value), true, true
				} else if n > 1 {
					ref, ok = (sum-float64(c.Value))/float64(n-1), true
				}
				if !ok {
					continue
				}
				compare(c, ref, d.Max)
				a := accs[c.Inspector]
				a.n++
				a.agree += c.Agreement
				a.dev += c.Deviation
				a.devPct += 100 * c.Deviation / float64(d.Max)
				if againstBench {
					a.againstBenchmark = true
				} else {
					a.anyPeers = true
				}
			}
			// The benchmark against the inspectors' mean, for its own row.
			if bench != nil && !bench.Missing && !bench.NA && n > 0 {
				compare(bench, u.Mean, d.Max)
				a := accs[in.Benchmark]
				a.n++
				a.agree += bench.Agreement
				a.dev += bench.Deviation
				a.devPct += 100 * bench.Deviation / float64(d.Max)
				a.anyPeers = true
			}
			u.Benchmark = bench
			res.Units = append(res.Units, u)
			ratingUnits = append(ratingUnits, values)
		}
	}
	res.Interval = alpha.Compute(ratingUnits, alpha.Interval)
	res.Ordinal = alpha.Compute(ratingUnits, alpha.Ordinal)

	// Flags: every finished review says, for each flag, raised (1) or not (0).
	var flagUnits, scoreUnits [][]float64
	for _, chat := range in.Chats {
		for _, flag := range in.Flags {
			var values []float64
			for _, p := range participants {
				if f, ok := in.Finals[Key{chat, p}]; ok {
					values = append(values, b2f(contains(f.Flags, flag)))
				}
			}
			flagUnits = append(flagUnits, values)
		}
		var scores []float64
		for _, p := range participants {
			if f, ok := in.Finals[Key{chat, p}]; ok {
				scores = append(scores, f.Score)
			}
		}
		scoreUnits = append(scoreUnits, scores)
		// Score deviation from the reference score, for each inspector.
		benchScore, hasBench := in.Finals[Key{chat, in.Benchmark}]
		for _, insp := range in.Inspectors {
			f, ok := in.Finals[Key{chat, insp}]
			if !ok {
				continue
			}
			var ref float64
			switch {
			case in.Benchmark != "" && hasBench:
				ref = benchScore.Score
			default:
				var s float64
				var m int
				for _, other := range in.Inspectors {
					if o, ok := in.Finals[Key{chat, other}]; ok && other != insp {
						s += o.Score
						m++
					}
				}
				if m == 0 {
					continue
				}
				ref = s / float64(m)
			}
			a := accs[insp]
			a.scoreN++
			a.scoreDev += f.Score - ref
		}
	}
	res.FlagsNominal = alpha.Compute(flagUnits, alpha.Nominal)
	res.ScoreInterval = alpha.Compute(scoreUnits, alpha.Interval)

	for _, p := range participants {
		a := accs[p]
		r := InspectorResult{Inspector: p, Benchmark: p == in.Benchmark && p != "", Compared: a.n,
			MeanAgreement: math.NaN(), Bias: math.NaN(), BiasPercent: math.NaN(), ScoreBias: math.NaN(),
			AgainstBenchmark: a.againstBenchmark && !a.anyPeers}
		for _, chat := range in.Chats {
			if _, ok := in.Finals[Key{chat, p}]; ok {
				r.Finalised++
			}
		}
		if a.n > 0 {
			r.MeanAgreement, r.Bias, r.BiasPercent = a.agree/float64(a.n), a.dev/float64(a.n), a.devPct/float64(a.n)
		}
		if a.scoreN > 0 {
			r.ScoreBias = a.scoreDev / float64(a.scoreN)
		}
		res.Inspectors = append(res.Inspectors, r)
	}
	return res
}

func compare(c *Cell, ref float64, max int) {
	c.HasReference = true
	c.Deviation = float64(c.Value) - ref
	c.Agreement = 1 - math.Abs(c.Deviation)/float64(max)
	c.Deviates = math.Abs(c.Deviation) >= DeviationShare*float64(max)-1e-9
}

func percent(v, max int) float64 { return 100 * float64(v) / float64(max) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
