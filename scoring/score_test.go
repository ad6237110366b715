package scoring

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"qa-sampling/fielderr"
)

// rate rates the default rubric's five dimensions in order; -1 is N/A.
func rate(values ...int) Input {
	keys := []string{"attitude", "knowledge", "efficiency", "communication", "compliance"}
	var in Input
	for i, v := range values {
		in.Ratings = append(in.Ratings, Rating{Dimension: keys[i], Value: max(v, 0), NA: v < 0})
	}
	return in
}

func withFlags(in Input, flags ...string) Input {
	in.Flags = flags
	return in
}

// custom is a valid rubric of the given dimensions with default thresholds.
func custom(dims ...Dimension) Rubric {
	for i := range dims {
		if dims[i].Name == "" {
			dims[i].Name = strings.ToUpper(dims[i].Key)
		}
	}
	r := Rubric{Name: "custom", Dimensions: dims, Thresholds: DefaultThresholds()}
	if err := r.Validate(); err != nil {
		panic(err)
	}
	return r
}

func TestScore(t *testing.T) {
	def := DefaultRubric()
	// One dimension rated 0..100: the score is the rating.
	pct := custom(Dimension{Key: "p", Weight: 100, Max: 100})
	tests := []struct {
		name     string
		rubric   Rubric
		in       Input
		score    float64
		grade    Grade
		critical bool
		display  string
	}{
		{"all top marks", def, rate(5, 5, 5, 5, 5), 100, GradeExcellent, false, "100.00"},
		{"all zero is critical through compliance", def, rate(0, 0, 0, 0, 0), 0, GradeFail, true, "0.00"},
		// A low score without a critical finding is needs improvement, not fail: 15·5/5 = 15.
		{"low but not critical", def, rate(0, 0, 0, 0, 5), 15, GradeNeedsImprovement, false, "15.00"},
		// 25·4/5 + 20·4/5·3 + 15·4/5 = 80 exactly; naive float sums can give 79.999….
		{"all 4 of 5 is exactly 80", def, rate(4, 4, 4, 4, 4), 80, GradeGood, false, "80.00"},
		// Not N/A: attitude, knowledge, communication, compliance; Σw = 25+20+20+15 = 80.
		// Σ w·r/max = 25·5/5 + 20·4/5 + 20·3/5 + 15·4/5 = 25+16+12+12 = 65; 100·65/80 = 81.25.
		{"one N/A re-weights", def, rate(5, 4, -1, 3, 4), 81.25, GradeGood, false, "81.25"},
		// Not N/A: efficiency, communication, compliance; Σw = 55.
		// Σ = 20·3/5 + 20·4/5 + 15·5/5 = 12+16+15 = 43; 100·43/55 = 78.1818…
		{"two N/A re-weight", def, rate(-1, -1, 3, 4, 5), 4300.0 / 55, GradePass, false, "78.18"},
		// Only attitude rated: 100·25·(2/5)/25 = 40.
		{"only one rated", def, rate(2, -1, -1, -1, -1), 40, GradeNeedsImprovement, false, "40.00"},
		{"critical flag zeroes", def, withFlags(rate(5, 5, 5, 5, 5), "privacy_leak"), 0, GradeFail, true, "0.00"},
		{"two critical flags", def, withFlags(rate(5, 5, 5, 5, 5), "false_promise", "abusive_language"), 0, GradeFail, true, "0.00"},
		// Max 5: 2 is below half (4 < 5), 3 is not (6 ≥ 5).
		{"critical dimension 2 of 5 zeroes", def, rate(5, 5, 5, 5, 2), 0, GradeFail, true, "0.00"},
		{"critical dimension 0 of 5 zeroes", def, rate(5, 5, 5, 5, 0), 0, GradeFail, true, "0.00"},
		// 25+20+20+20 + 15·3/5 = 94.
		{"critical dimension 3 of 5 does not", def, rate(5, 5, 5, 5, 3), 94, GradeExcellent, false, "94.00"},
		{"critical dimension N/A does not", def, rate(5, 5, 5, 5, -1), 100, GradeExcellent, false, "100.00"},
		// A non-critical dimension at 0 only lowers the score: 100 − 25 = 75.
		{"non-critical dimension at 0", def, rate(0, 5, 5, 5, 5), 75, GradePass, false, "75.00"},
		// Max 4: 2 is exactly half (4 = 4), not below; 1 is below.
		{"even scale: exactly half is not critical", custom(
			Dimension{Key: "a", Weight: 50, Max: 4, Critical: true}, Dimension{Key: "b", Weight: 50, Max: 4},
		), Input{Ratings: []Rating{{Dimension: "a", Value: 2}, {Dimension: "b", Value: 4}}}, 75, GradePass, false, "75.00"},
		{"even scale: below half is critical", custom(
			Dimension{Key: "a", Weight: 50, Max: 4, Critical: true}, Dimension{Key: "b", Weight: 50, Max: 4},
		), Input{Ratings: []Rating{{Dimension: "a", Value: 1}, {Dimension: "b", Value: 4}}}, 0, GradeFail, true, "0.00"},
		// Grade boundaries on a 0..100 scale: the score is the rating.
		{"exactly 90", pct, rateP(90), 90, GradeExcellent, false, "90.00"},
		{"just below 90", pct, rateP(89), 89, GradeGood, false, "89.00"},
		{"exactly 80", pct, rateP(80), 80, GradeGood, false, "80.00"},
		{"just below 80", pct, rateP(79), 79, GradePass, false, "79.00"},
		{"exactly 70", pct, rateP(70), 70, GradePass, false, "70.00"},
		{"just below 70", pct, rateP(69), 69, GradeNeedsImprovement, false, "69.00"},
		// 100·(2/3) = 66.666…
		{"two thirds", custom(Dimension{Key: "a", Weight: 100, Max: 3}),
			Input{Ratings: []Rating{{Dimension: "a", Value: 2}}}, 200.0 / 3, GradeNeedsImprovement, false, "66.67"},
		// (1·2/8 + 99·7/8) = 695/8 = 86.875 exactly: the half rounds away from zero.
		{"half a hundredth rounds up", custom(Dimension{Key: "a", Weight: 1, Max: 8}, Dimension{Key: "b", Weight: 99, Max: 8}),
			Input{Ratings: []Rating{{Dimension: "a", Value: 2}, {Dimension: "b", Value: 7}}}, 86.875, GradeGood, false, "86.88"},
		// Decimal weights all at 7/10 must give exactly 70: summing the
		// float64 products naively gives 69.99999999999999 here.
		{"decimal weights at equal ratios", custom(
			Dimension{Key: "a", Weight: 60.89, Max: 10}, Dimension{Key: "b", Weight: 35.13, Max: 10}, Dimension{Key: "c", Weight: 3.98, Max: 10},
		), Input{Ratings: []Rating{{Dimension: "a", Value: 7}, {Dimension: "b", Value: 7}, {Dimension: "c", Value: 7}}}, 70, GradePass, false, "70.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.rubric.Score(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Score != tt.score || res.Grade != tt.grade || res.Critical != tt.critical {
				t.Errorf("Score = %v %s critical=%v, want %v %s critical=%v", res.Score, res.Grade, res.Critical, tt.score, tt.grade, tt.critical)
			}
			if got := Display(res.Score); got != tt.display {
				t.Errorf("Display(%v) = %q, want %q", res.Score, got, tt.display)
			}
			if len(res.Dimensions) != len(tt.rubric.Dimensions) {
				t.Fatalf("%d dimension results, want %d", len(res.Dimensions), len(tt.rubric.Dimensions))
			}
			for i, d := range res.Dimensions {
				if d.Key != tt.rubric.Dimensions[i].Key {
					t.Errorf("dimension %d is %s, want rubric order", i, d.Key)
				}
			}
			if res.Flags == nil || !reflect.DeepEqual(res.Flags, rubricOrder(tt.rubric, tt.in.Flags)) {
				t.Errorf("Flags = %#v, want the raised flags in rubric order", res.Flags)
			}
		})
	}
}

// rateP rates the one dimension of TestScore's pct rubric.
func rateP(v int) Input { return Input{Ratings: []Rating{{Dimension: "p", Value: v}}} }

func rubricOrder(r Rubric, raised []string) []string {
	out := []string{}
	for _, f := range r.Flags {
		for _, k := range raised {
			if k == f.Key {
				out = append(out, k)
			}
		}
	}
	return out
}

func TestScoreDimensionResults(t *testing.T) {
	r := DefaultRubric()
	res, err := r.Score(withFlags(rate(3, 4, -1, 5, 2), "abusive_language"))
	if err != nil {
		t.Fatal(err)
	}
	want := []DimensionResult{
		{Key: "attitude", Value: 3, Max: 5, Weight: 25, Percent: 60, Failing: true},
		{Key: "knowledge", Value: 4, Max: 5, Weight: 20, Percent: 80},
		{Key: "efficiency", Max: 5, NA: true, Weight: 20},
		{Key: "communication", Value: 5, Max: 5, Weight: 20, Percent: 100},
		{Key: "compliance", Value: 2, Max: 5, Weight: 15, Percent: 40, Failing: true, Critical: true},
	}
	if !reflect.DeepEqual(res.Dimensions, want) {
		t.Errorf("Dimensions =\n%+v\nwant\n%+v", res.Dimensions, want)
	}
	if !reflect.DeepEqual(res.Flags, []string{"abusive_language"}) || !res.Critical || res.Score != 0 || res.Grade != GradeFail {
		t.Errorf("result %+v", res)
	}

	// Failing is "this dimension alone would not pass": 7 of 10 is exactly
	// the pass threshold, 6 of 10 is below.
	r = custom(Dimension{Key: "a", Weight: 50, Max: 10}, Dimension{Key: "b", Weight: 50, Max: 10})
	res, err = r.Score(Input{Ratings: []Rating{{Dimension: "a", Value: 7}, {Dimension: "b", Value: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dimensions[0].Failing || !res.Dimensions[1].Failing {
		t.Errorf("Failing = %v, %v; want false at 70%%, true at 60%%", res.Dimensions[0].Failing, res.Dimensions[1].Failing)
	}
}

func TestScoreIgnoresValueOfNA(t *testing.T) {
	in := rate(5, 5, 5, 5, 5)
	in.Ratings[0] = Rating{Dimension: "attitude", Value: 2, NA: true}
	res, err := DefaultRubric().Score(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Score != 100 || res.Dimensions[0].Value != 0 || res.Dimensions[0].Percent != 0 {
		t.Errorf("score %v, attitude %+v; want N/A to ignore its value", res.Score, res.Dimensions[0])
	}
}

func TestScoreRejects(t *testing.T) {
	noNA := custom(Dimension{Key: "a", Weight: 60, Max: 5}, Dimension{Key: "b", Weight: 40, Max: 5, AllowNA: true})
	tests := []struct {
		name   string
		rubric Rubric
		in     Input
		field  string
		inText string
	}{
		{"unknown dimension", DefaultRubric(), withRating(rate(5, 5, 5, 5, 5), Rating{Dimension: "speed", Value: 3}), "ratings[speed]", "unknown dimension; the rubric has attitude, knowledge"},
		{"empty dimension key", DefaultRubric(), withRating(rate(5, 5, 5, 5, 5), Rating{Value: 3}), "ratings", "required"},
		{"duplicate rating", DefaultRubric(), withRating(rate(5, 5, 5, 5, 5), Rating{Dimension: "attitude", Value: 3}), "ratings[attitude]", "rated more than once"},
		{"duplicate N/A rating", DefaultRubric(), withRating(rate(5, 5, 5, 5, 5), Rating{Dimension: "knowledge", NA: true}), "ratings[knowledge]", "rated more than once"},
		{"missing dimension", DefaultRubric(), rate(5, 5, 5, 5), "ratings[compliance]", "not rated"},
		{"no ratings", DefaultRubric(), Input{}, "ratings[attitude]", "not rated"},
		{"above the scale", DefaultRubric(), rate(5, 6, 5, 5, 5), "ratings[knowledge]", "value 6 is outside the scale 0..5"},
		{"negative", DefaultRubric(), withRating(rate(5, 5, 5, 5), Rating{Dimension: "compliance", Value: -1}), "ratings[compliance]", "value -1 is outside"},
		{"N/A not allowed", noNA, Input{Ratings: []Rating{{Dimension: "a", NA: true}, {Dimension: "b", Value: 3}}}, "ratings[a]", "N/A is not allowed"},
		{"all N/A", DefaultRubric(), rate(-1, -1, -1, -1, -1), "ratings", "every dimension is N/A"},
		{"unknown flag", DefaultRubric(), withFlags(rate(5, 5, 5, 5, 5), "rude"), "flags[rude]", "unknown critical flag; the rubric has abusive_language, privacy_leak, false_promise"},
		{"flag raised twice", DefaultRubric(), withFlags(rate(5, 5, 5, 5, 5), "privacy_leak", "privacy_leak"), "flags[privacy_leak]", "raised more than once"},
		{"flag on a rubric without flags", noNA, Input{Ratings: []Rating{{Dimension: "a", Value: 1}, {Dimension: "b", Value: 3}}, Flags: []string{"x"}}, "flags[x]", "the rubric has none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.rubric.Score(tt.in)
			if !hasFieldError(err, tt.field, tt.inText) {
				t.Errorf("Score() = %+v, %v; want a *FieldError on %s containing %q", res, err, tt.field, tt.inText)
			}
			if _, ok := fielderr.As(err); !ok {
				t.Errorf("%v is not a *fielderr.Error", err)
			}
		})
	}
}

func withRating(in Input, rt Rating) Input {
	in.Ratings = append(in.Ratings, rt)
	return in
}

func TestScoreReportsEveryProblem(t *testing.T) {
	in := Input{
		Ratings: []Rating{{Dimension: "attitude", Value: 9}, {Dimension: "nope"}, {Dimension: "attitude", Value: 1}},
		Flags:   []string{"rude"},
	}
	_, err := DefaultRubric().Score(in)
	want := []string{"ratings[attitude]", "ratings[nope]", "ratings[attitude]",
		"ratings[knowledge]", "ratings[efficiency]", "ratings[communication]", "ratings[compliance]", "flags[rude]"}
	if got := fieldsOf(err); !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

func TestCheckDraft(t *testing.T) {
	r := DefaultRubric()
	for _, in := range []Input{
		{},
		rate(5),
		rate(-1, -1, -1, -1, -1),
		withFlags(rate(3, -1), "privacy_leak"),
		rate(5, 5, 5, 5, 5),
	} {
		if err := r.CheckDraft(in); err != nil {
			t.Errorf("CheckDraft(%+v) = %v, want nil", in, err)
		}
	}
	for _, tt := range []struct {
		in    Input
		field string
	}{
		{rate(5, 7), "ratings[knowledge]"},
		{withRating(rate(5), Rating{Dimension: "attitude", Value: 1}), "ratings[attitude]"},
		{Input{Ratings: []Rating{{Dimension: "speed"}}}, "ratings[speed]"},
		{withFlags(rate(5), "rude"), "flags[rude]"},
	} {
		if err := r.CheckDraft(tt.in); !hasFieldError(err, tt.field, "") {
			t.Errorf("CheckDraft(%+v) = %v, want an error on %s", tt.in, err, tt.field)
		}
	}
}

func TestGradeOf(t *testing.T) {
	r := DefaultRubric()
	for _, tt := range []struct {
		score    float64
		critical bool
		want     Grade
	}{
		{100, false, GradeExcellent},
		{90, false, GradeExcellent},
		{90 - 1e-12, false, GradeExcellent}, // float noise below the threshold still reaches it
		{89.999999, false, GradeGood},
		{89.995, false, GradeGood}, // displays "90.00", but is graded on the full value
		{80, false, GradeGood},
		{79.99, false, GradePass},
		{70, false, GradePass},
		{69.999, false, GradeNeedsImprovement},
		{0, false, GradeNeedsImprovement},
		{100, true, GradeFail},
		{0, true, GradeFail},
	} {
		if got := r.GradeOf(tt.score, tt.critical); got != tt.want {
			t.Errorf("GradeOf(%v, %v) = %s, want %s", tt.score, tt.critical, got, tt.want)
		}
	}
	r.Thresholds = Thresholds{Excellent: 95, Good: 85, Pass: 60}
	if got := r.GradeOf(90, false); got != GradeGood {
		t.Errorf("custom thresholds: GradeOf(90) = %s, want good", got)
	}
}

func TestDisplay(t *testing.T) {
	for _, tt := range []struct {
		score float64
		want  string
	}{
		{0, "0.00"},
		{100, "100.00"},
		{87.5, "87.50"},
		{66.66666666666667, "66.67"},
		{33.333333333333336, "33.33"},
		{86.875, "86.88"},
		{86.865, "86.87"},
		{2.675, "2.68"}, // float64(2.675) is 2.67499999…, but it reads 2.675
		{1.005, "1.01"},
		{0.005, "0.01"},
		{0.004999, "0.00"},
		{89.995, "90.00"},
		{89.99499999999999, "89.99"},
		{99.995, "100.00"},
		{9.995, "10.00"},
		{0.995, "1.00"},
		{1e-7, "0.00"},
		{-1.005, "-1.01"},
		{-0.001, "0.00"},
		{math.Copysign(0, -1), "0.00"},
		{1234567.125, "1234567.13"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
	} {
		if got := Display(tt.score); got != tt.want {
			t.Errorf("Display(%v) = %q, want %q", tt.score, got, tt.want)
		}
	}
}

// TestScoreProperties checks random rubrics and inputs against a plain
// float computation, the [0, 100] range, the grade, and that raising one
// rating never lowers the score.
func TestScoreProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		r := randomRubric(rng)
		in := randomInput(rng, r)
		res, err := r.Score(in)
		if err != nil {
			t.Fatalf("Score(%+v) on %+v: %v", in, r, err)
		}
		if res.Score < 0 || res.Score > 100 {
			t.Fatalf("score %v out of range", res.Score)
		}
		if want := naiveScore(r, in); math.Abs(res.Score-want) > 1e-9 {
			t.Fatalf("score %v, plain float computation %v", res.Score, want)
		}
		if res.Grade != r.GradeOf(res.Score, res.Critical) {
			t.Fatalf("grade %s for %v critical=%v", res.Grade, res.Score, res.Critical)
		}
		// Raise one rated dimension by one step.
		i := rng.IntN(len(in.Ratings))
		rt := &in.Ratings[i]
		if rt.NA || rt.Value == r.Dimensions[i].Max {
			continue
		}
		rt.Value++
		up, err := r.Score(in)
		if err != nil {
			t.Fatal(err)
		}
		if up.Score < res.Score {
			t.Fatalf("raising %s to %d lowered the score from %v to %v", rt.Dimension, rt.Value, res.Score, up.Score)
		}
	}
}

func randomRubric(rng *rand.Rand) Rubric {
	n := 1 + rng.IntN(8)
	r := Rubric{Name: "random", Thresholds: DefaultThresholds()}
	left := 10000 // hundredths of a weight point
	for i := range n {
		w := left
		if i < n-1 {
			w = 1 + rng.IntN(left-(n-1-i))
		}
		left -= w
		r.Dimensions = append(r.Dimensions, Dimension{
			Key: string(rune('a' + i)), Name: "D", Weight: float64(w) / 100, Max: 1 + rng.IntN(10),
			AllowNA: rng.IntN(2) == 0, Critical: rng.IntN(4) == 0,
		})
	}
	r.Flags = []Flag{{Key: "red", Name: "Red"}}
	if err := r.Validate(); err != nil {
		panic(err)
	}
	return r
}

func randomInput(rng *rand.Rand, r Rubric) Input {
	var in Input
	rated := false
	for _, d := range r.Dimensions {
		na := d.AllowNA && rng.IntN(3) == 0
		rated = rated || !na
		in.Ratings = append(in.Ratings, Rating{Dimension: d.Key, Value: rng.IntN(d.Max + 1), NA: na})
	}
	if !rated {
		in.Ratings[0].NA = false
	}
	if rng.IntN(10) == 0 {
		in.Flags = []string{"red"}
	}
	return in
}

// naiveScore is the formula in plain float64, independent of Score.
func naiveScore(r Rubric, in Input) float64 {
	if len(in.Flags) > 0 {
		return 0
	}
	var sum, weights float64
	for i, d := range r.Dimensions {
		rt := in.Ratings[i]
		if rt.NA {
			continue
		}
		if d.Critical && float64(rt.Value) < float64(d.Max)/2 {
			return 0
		}
		sum += d.Weight * float64(rt.Value) / float64(d.Max)
		weights += d.Weight
	}
	return 100 * sum / weights
}

// FuzzScore checks that any input either is rejected with field errors or
// scores within [0, 100] with a consistent grade, and never panics.
func FuzzScore(f *testing.F) {
	f.Add([]byte{5, 5, 5, 5, 5}, uint8(0))
	f.Add([]byte{255, 0, 3, 9, 2}, uint8(2))
	f.Add([]byte{}, uint8(7))
	f.Fuzz(func(t *testing.T, values []byte, flags uint8) {
		r := DefaultRubric()
		var in Input
		for i, v := range values {
			in.Ratings = append(in.Ratings, Rating{
				Dimension: r.Dimensions[i%len(r.Dimensions)].Key, Value: int(v%8) - 1, NA: v >= 200,
			})
		}
		for i, fl := range r.Flags {
			if flags&(1<<i) != 0 {
				in.Flags = append(in.Flags, fl.Key)
			}
		}
		if flags&0x80 != 0 {
			in.Flags = append(in.Flags, "unknown")
		}
		res, err := r.Score(in)
		if err != nil {
			if _, ok := fielderr.As(err); !ok {
				t.Fatalf("error %v is not a *fielderr.Error", err)
			}
			return
		}
		if res.Score < 0 || res.Score > 100 || res.Grade != r.GradeOf(res.Score, res.Critical) {
			t.Fatalf("result %+v", res)
		}
		if res.Critical != (len(in.Flags) > 0 || res.Dimensions[4].Critical) {
			t.Fatalf("critical %v with flags %v and compliance %+v", res.Critical, in.Flags, res.Dimensions[4])
		}
		if err := r.CheckDraft(in); err != nil {
			t.Fatalf("CheckDraft refuses what Score accepts: %v", err)
		}
	})
}

func TestFeedbackFlags(t *testing.T) {
	for _, tc := range []struct {
		res            Result
		coach, example bool
	}{
		{Result{Grade: GradeExcellent}, false, true},
		{Result{Grade: GradeGood}, false, false},
		{Result{Grade: GradePass}, false, false},
		{Result{Grade: GradeNeedsImprovement}, true, false},
		{Result{Grade: GradeFail, Critical: true}, true, false},
		{Result{Grade: GradeFail}, true, false},
	} {
		if got := tc.res.CoachingRequired(); got != tc.coach {
			t.Errorf("%+v.CoachingRequired() = %t, want %t", tc.res, got, tc.coach)
		}
		if got := tc.res.ShareAsExample(); got != tc.example {
			t.Errorf("%+v.ShareAsExample() = %t, want %t", tc.res, got, tc.example)
		}
	}
}

// A megabyte key or name never comes back whole in a message: before, a
// 3 MB rating key was echoed in the field and the reason.
func TestMessagesQuoteAShortPrefix(t *testing.T) {
	huge := strings.Repeat("k", 3<<20)
	_, scoreErr := DefaultRubric().Score(withFlags(withRating(rate(5, 5, 5, 5, 5), Rating{Dimension: huge, Value: 1}), huge))
	r := DefaultRubric()
	r.Dimensions[0].Key = huge
	r.Flags[0].Key = huge
	r.Name = huge
	r.Dimensions[1].Criteria = "a\x00b"
	for name, err := range map[string]error{"score": scoreErr, "rubric": r.Validate()} {
		fe, ok := fielderr.As(err)
		if !ok {
			t.Fatalf("%s: %v is not a *fielderr.Error", name, err)
		}
		for _, v := range fe.Violations {
			if len(v.Field)+len(v.Reason) > 300 {
				t.Errorf("%s: violation of %d bytes: %.100s…", name, len(v.Field)+len(v.Reason), v)
			}
		}
		if !strings.Contains(err.Error(), `"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"… (3145728 bytes)`) && name == "score" {
			t.Errorf("%s: %s does not quote the prefix", name, err)
		}
	}
	if got := fieldsOf(r.Validate()); !reflect.DeepEqual(got, []string{"name", "dimensions[0].key", "dimensions[1].criteria", "flags[0].key"}) {
		t.Errorf("rubric fields %q", got)
	}
}
