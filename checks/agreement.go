package checks

import "math"

// Rating is an inspector's final rating of one dimension, as the
// agreement report reads it.
type Rating struct {
	Key   string
	Value int
	Max   int
	NA    bool
}

// Failing reports whether r counts as a failure of its dimension: a
// rating below half the scale (2 of 0..5 fails, 3 passes).
func (r Rating) Failing() bool { return 2*r.Value < r.Max }

// ReviewedChat is one finalised review with the checks stored for its
// conversation.
type ReviewedChat struct {
	// Flags are the checks that fired (bit i = Keys[i]).
	Flags uint64
	// Ran are the checks that ran on it (the enabled checks of the
	// version that computed Flags); 0 when it was never checked.
	Ran     uint64
	Ratings []Rating
}

// Agreement is how one check agrees with inspectors' final ratings of its
// dimension. A conversation counts where the check ran and the dimension
// was rated (not N/A): tp fired and rated failing, fp fired and rated
// passing, fn silent and rated failing, tn silent and rated passing.
type Agreement struct {
	Check     string
	Dimension string
	TP, FP    int64
	FN, TN    int64
	// Precision = tp/(tp+fp), Recall = tp/(tp+fn); NaN when the
	// denominator is 0 (nothing to judge by).
	Precision float64
	Recall    float64
}

// Compared is the number of reviewed conversations the figures rest on.
func (a Agreement) Compared() int64 { return a.TP + a.FP + a.FN + a.TN }

// Agree computes each check's agreement (in Keys order) over reviewed
// conversations, comparing check k with the rating of s.Dimension(k).
func Agree(s *Set, reviewed []ReviewedChat) []Agreement {
	out := make([]Agreement, len(Keys))
	for i, k := range Keys {
		out[i] = Agreement{Check: k, Dimension: s.Dimension(k)}
	}
	for _, r := range reviewed {
		for i := range out {
			bit := uint64(1) << i
			if r.Ran&bit == 0 {
				continue
			}
			rating, ok := find(r.Ratings, out[i].Dimension)
			if !ok || rating.NA || rating.Max <= 0 {
				continue
			}
			fired, failing := r.Flags&bit != 0, rating.Failing()
			switch {
			case fired && failing:
				out[i].TP++
			case fired:
				out[i].FP++
			case failing:
				out[i].FN++
			default:
				out[i].TN++
			}
		}
	}
	for i := range out {
		out[i].Precision = ratio(out[i].TP, out[i].TP+out[i].FP)
		out[i].Recall = ratio(out[i].TP, out[i].TP+out[i].FN)
	}
	return out
}

func find(ratings []Rating, key string) (Rating, bool) {
	for _, r := range ratings {
		if r.Key == key {
			return r, true
		}
	}
	return Rating{}, false
}

func ratio(n, d int64) float64 {
	if d == 0 {
		return math.NaN()
	}
	return float64(n) / float64(d)
}

// EnabledMask returns the bits of the checks that run under s.
func (s *Set) EnabledMask() uint64 {
	var m uint64
	for i, k := range Keys {
		if s.Enabled(k) {
			m |= 1 << i
		}
	}
	return m
}
