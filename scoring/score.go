package scoring

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"qa-sampling/fielderr"
)

// Grade is a review's grade by the rubric's thresholds.
type Grade string

// Grades, best first. GradeFail is reserved for critical reviews; a low
// score without a critical finding is GradeNeedsImprovement.
const (
	GradeExcellent        Grade = "excellent"
	GradeGood             Grade = "good"
	GradePass             Grade = "pass"
	GradeNeedsImprovement Grade = "needs_improvement"
	GradeFail             Grade = "fail"
)

// Rating is an inspector's rating of one dimension.
type Rating struct {
	Dimension string // the dimension's key
	Value     int    // 0..Max; ignored when NA
	NA        bool   // not applicable: left out of the score
}

// Input is what an inspector submits; the score is computed from it, never
// taken from the client.
type Input struct {
	Ratings []Rating
	Flags   []string // keys of the critical flags raised
}

// DimensionResult is one dimension of a scored review.
type DimensionResult struct {
	Key     string
	Value   int // 0 when NA
	Max     int
	NA      bool
	Weight  float64
	Percent float64 // 100·Value/Max, 0 when NA
	// Failing: not NA and Percent below Thresholds.Pass, so the dimension
	// alone would not pass; reports count these as common problems.
	Failing bool
	// Critical: a critical dimension rated below half its scale
	// (2·Value < Max), which zeroes the score.
	Critical bool
}

// Result is a scored review.
type Result struct {
	Score      float64 // full precision, 0..100; 0 when Critical
	Grade      Grade
	Critical   bool              // a flag raised or a critical dimension below half its scale
	Dimensions []DimensionResult // every dimension of the rubric, in rubric order
	Flags      []string          // the raised flags, in rubric order; empty, not nil, when none
}

// CoachingRequired reports whether the agent's supervisor must coach on
// this review (SPEC §2 step 5): a grade below pass or any critical result.
func (r Result) CoachingRequired() bool {
	return r.Critical || r.Grade == GradeNeedsImprovement || r.Grade == GradeFail
}

// ShareAsExample reports whether the review is worth sharing as an
// example (SPEC §2 step 5): an excellent grade.
func (r Result) ShareAsExample() bool { return r.Grade == GradeExcellent }

// Score checks in and computes the result: Score = 100 × Σ wᵢ·rᵢ/maxᵢ ÷ Σ wᵢ
// over the dimensions not marked N/A, or 0 when critical.
//
// The checks: every rubric dimension rated exactly once, values within
// 0..Max, N/A only where AllowNA, not all N/A, no unknown dimension or
// flag, no flag raised twice. Every problem is returned in one
// *fielderr.Error, each violation naming "ratings[<key>]", "ratings",
// "flags[<key>]" or "flags" (for a key that is not a valid key).
//
// r must be valid (Validate); stored rubrics are validated when parsed.
func (r Rubric) Score(in Input) (Result, error) {
	rated, raised, err := r.check(in, true)
	if err != nil {
		return Result{}, err
	}
	res := Result{Dimensions: make([]DimensionResult, len(r.Dimensions)), Flags: []string{}}
	// Exact rationals: the float64 weights are exact binary fractions, so
	// the only rounding is the final conversion (see the package doc).
	var sum, weights, term big.Rat
	for i, d := range r.Dimensions {
		rt := rated[i]
		dr := DimensionResult{Key: d.Key, Max: d.Max, NA: rt.NA, Weight: d.Weight}
		if !rt.NA {
			dr.Value = rt.Value
			dr.Percent = float64(100*rt.Value) / float64(d.Max)
			dr.Failing = !reaches(dr.Percent, r.Thresholds.Pass)
			dr.Critical = d.Critical && 2*rt.Value < d.Max
			w := new(big.Rat).SetFloat64(d.Weight)
			weights.Add(&weights, w)
			sum.Add(&sum, term.Mul(w, big.NewRat(int64(rt.Value), int64(d.Max))))
		}
		res.Critical = res.Critical || dr.Critical
		res.Dimensions[i] = dr
	}
	for i, f := range r.Flags {
		if raised[i] {
			res.Flags = append(res.Flags, f.Key)
			res.Critical = true
		}
	}
	if !res.Critical {
		// weights > 0: check refused an all-N/A input.
		sum.Mul(&sum, big.NewRat(WeightTotal, 1))
		res.Score, _ = sum.Quo(&sum, &weights).Float64()
	}
	res.Grade = r.GradeOf(res.Score, res.Critical)
	return res, nil
}

// CheckDraft checks what Score checks except completeness: a draft may
// leave dimensions unrated and may be all N/A so far, but the values it
// gives must be valid.
func (r Rubric) CheckDraft(in Input) error {
	_, _, err := r.check(in, false)
	return err
}

// check validates in against r. rated holds each dimension's rating by
// rubric index (nil when unrated), raised each flag's by rubric index.
// complete also requires every dimension rated and not all N/A.
func (r Rubric) check(in Input, complete bool) (rated []*Rating, raised []bool, err error) {
	var errs fielderr.List
	dimIndex := make(map[string]int, len(r.Dimensions))
	for i, d := range r.Dimensions {
		dimIndex[d.Key] = i
	}
	rated = make([]*Rating, len(r.Dimensions))
	for i := range in.Ratings {
		rt := &in.Ratings[i]
		field := keyField("ratings", rt.Dimension)
		di, known := dimIndex[rt.Dimension]
		switch {
		case rt.Dimension == "":
			errs.Add(field, "dimension key required")
		case !known:
			errs.Add(field, "unknown dimension%s; the rubric has %s", unnamedKey(field, rt.Dimension), keyList(r.Dimensions, func(d Dimension) string { return d.Key }))
		case rated[di] != nil:
			errs.Add(field, "rated more than once")
		default:
			rated[di] = rt
			d := r.Dimensions[di]
			if rt.NA && !d.AllowNA {
				errs.Add(field, "N/A is not allowed for this dimension; rate it 0..%d", d.Max)
			} else if !rt.NA && (rt.Value < 0 || rt.Value > d.Max) {
				errs.Add(field, "value %d is outside the scale 0..%d", rt.Value, d.Max)
			}
		}
	}
	if complete {
		na := 0
		for i, d := range r.Dimensions {
			switch {
			case rated[i] == nil:
				errs.Add("ratings["+d.Key+"]", "not rated; every dimension needs a value or N/A")
			case rated[i].NA:
				na++
			}
		}
		if na == len(r.Dimensions) {
			errs.Add("ratings", "every dimension is N/A; rate at least one")
		}
	}

	flagIndex := make(map[string]int, len(r.Flags))
	for i, f := range r.Flags {
		flagIndex[f.Key] = i
	}
	raised = make([]bool, len(r.Flags))
	for _, key := range in.Flags {
		field := keyField("flags", key)
		fi, known := flagIndex[key]
		switch {
		case !known:
			errs.Add(field, "unknown critical flag%s; the rubric has %s", unnamedKey(field, key), keyList(r.Flags, func(f Flag) string { return f.Key }))
		case raised[fi]:
			errs.Add(field, "raised more than once")
		default:
			raised[fi] = true
		}
	}
	return rated, raised, errs.Err()
}

// keyField names the rating or flag of key as "ratings[<key>]"; a key
// that is not a valid key (it may be megabytes of anything) is named by
// the list alone, and quoted, shortened, in the reason.
func keyField(list, key string) string {
	if !validKey(key) {
		return list
	}
	return list + "[" + key + "]"
}

// unnamedKey is " <quoted key>" for a reason whose field (from keyField)
// does not name the key, else "".
func unnamedKey(field, key string) string {
	if strings.HasSuffix(field, "]") {
		return ""
	}
	return " " + fielderr.Quote(key)
}

// keyList joins the keys of a rubric's dimensions or flags for an error
// message: "none" when there are none.
func keyList[T any](items []T, key func(T) string) string {
	if len(items) == 0 {
		return "none"
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = key(it)
	}
	return strings.Join(keys, ", ")
}

// GradeOf grades a score by r's thresholds: fail when critical, else the
// best grade whose threshold the full-precision score reaches (within
// Tolerance), else needs_improvement. The displayed two decimals play no
// part: 89.995 shows as "90.00" but is good.
func (r Rubric) GradeOf(score float64, critical bool) Grade {
	t := r.Thresholds
	switch {
	case critical:
		return GradeFail
	case reaches(score, t.Excellent):
		return GradeExcellent
	case reaches(score, t.Good):
		return GradeGood
	case reaches(score, t.Pass):
		return GradePass
	default:
		return GradeNeedsImprovement
	}
}

// reaches reports whether x is at least threshold, forgiving the float
// error of decimal weights (Tolerance).
func reaches(x, threshold float64) bool { return x >= threshold-Tolerance }

// Display formats a score with two decimals, "87.50", rounding half away
// from zero. It rounds the shortest decimal that identifies the float64
// (what strconv and JSON print), so 86.875 gives "86.88" and a score
// printed as 2.675 gives "2.68", as a person would expect, although the
// binary value nearest 2.675 lies just below it.
func Display(score float64) string {
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return strconv.FormatFloat(score, 'f', 2, 64)
	}
	whole, frac, _ := strings.Cut(strconv.FormatFloat(math.Abs(score), 'f', -1, 64), ".")
	// Padding makes frac[:2] and frac[2] exist; digits is the magnitude in
	// hundredths, truncated.
	frac += "000"
	digits := []byte(whole + frac[:2])
	if frac[2] >= '5' {
		// At least half a hundredth dropped: round the magnitude up.
		i := len(digits) - 1
		for ; i >= 0 && digits[i] == '9'; i-- {
			digits[i] = '0'
		}
		if i < 0 {
			digits = append([]byte{'1'}, digits...)
		} else {
			digits[i]++
		}
	}
	out := string(digits[:len(digits)-2]) + "." + string(digits[len(digits)-2:])
	if score < 0 && out != "0.00" {
		out = "-" + out
	}
	return out
}
