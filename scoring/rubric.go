// Package scoring is the rubric and the score of a quality-inspection
// review (SPEC §5): a rubric's validation and canonical JSON, the checks on
// an inspector's ratings, the weighted score, its grade and its display.
// It is pure: no SQL, gRPC, I/O or clock.
//
// # Decisions
//
// Exact arithmetic: Score sums wᵢ·rᵢ/maxᵢ as exact rationals of the given
// float64 weights and rounds once at the end, so equal ratios give exactly
// their percentage (25, 20, 20, 20, 15 all at 4/5 is 80, not 79.999…) and
// a score such as 86.875 is exact, which Display then rounds as a person
// would.
//
// Grades are taken on the full-precision score, not on the two decimals
// shown: 89.995 displays "90.00" but is good, not excellent, because the
// threshold is "at least 90" and 89.995 is not. A score within Tolerance
// of a threshold counts as reaching it, which absorbs the binary error of
// decimal weights such as 35.7 + 34.3.
//
// The default rubric's compliance dimension is critical: skipping most of
// a mandatory process (identity checks, refund steps) is a red line in
// customer-service QA like the three critical flags, so a compliance
// rating below half its scale (0–2 of 5) zeroes the review. The other
// dimensions are matters of quality, not of rules, and are not critical.
package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"qa-sampling/fielderr"
)

// Limits Validate enforces, so that a rubric stays something an inspector
// can fill in and a review row stays small.
const (
	MaxDimensions = 50
	MaxFlags      = 50
	// MaxScale bounds Dimension.Max: no rating scale is finer than 0..100.
	MaxScale = 100
	// MaxKeyLen bounds dimension and flag keys, in bytes.
	MaxKeyLen = 64
	// MaxTextLen bounds criteria and descriptions, in bytes; names are
	// bounded as every name (fielderr.MaxNameRunes).
	MaxTextLen = 4096
	// WeightTotal is what a rubric's weights sum to.
	WeightTotal = 100
	// Tolerance is how far weights may sum from WeightTotal, and how close
	// below a grade threshold a score still reaches it: float error of
	// decimal weights, far below any difference a rubric can express.
	Tolerance = 1e-9
)

// Dimension is one rated aspect of a conversation.
type Dimension struct {
	// Key identifies the dimension in ratings and reports: lowercase
	// snake_case, unique in the rubric.
	Key  string `json:"key"`
	Name string `json:"name"`
	// Weight is the dimension's share of the score; a rubric's weights
	// sum to 100.
	Weight float64 `json:"weight"`
	// Criteria tells the inspector what each end of the scale means.
	Criteria string `json:"criteria,omitempty"`
	// Max is the top of the rating scale 0..Max.
	Max int `json:"max"`
	// AllowNA lets the inspector mark the dimension not applicable, which
	// leaves it out of the score.
	AllowNA bool `json:"allow_na"`
	// Critical makes a rating below half the scale (2·value < Max) zero the
	// whole score, like a critical flag.
	Critical bool `json:"critical"`
}

// Flag is a critical flag (红线): raising any zeroes the score.
type Flag struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Thresholds are the lowest scores of each grade.
type Thresholds struct {
	Excellent float64 `json:"excellent"` // default 90
	Good      float64 `json:"good"`      // default 80
	Pass      float64 `json:"pass"`      // default 70
}

// Rubric is what reviews are scored against. The zero value is not valid:
// start from DefaultRubric or ParseRubric.
type Rubric struct {
	Name       string      `json:"name"`
	Dimensions []Dimension `json:"dimensions"`
	Flags      []Flag      `json:"flags"`
	Thresholds Thresholds  `json:"thresholds"`
}

// DefaultThresholds are SPEC §5's: excellent ≥ 90, good ≥ 80, pass ≥ 70.
func DefaultThresholds() Thresholds { return Thresholds{Excellent: 90, Good: 80, Pass: 70} }

// DefaultRubric is SPEC §5's rubric from the seed: five dimensions rated
// 0..5, each may be N/A, only compliance critical (see the package
// documentation), three critical flags and the default thresholds.
func DefaultRubric() Rubric {
	dim := func(key, name string, weight float64, critical bool, criteria string) Dimension {
		return Dimension{Key: key, Name: name, Weight: weight, Criteria: criteria, Max: 5, AllowNA: true, Critical: critical}
	}
	return Rubric{
		Name: "default",
		Dimensions: []Dimension{
			dim("attitude", "服务态度 Service attitude", 25, false,
				"Polite, patient and warm from greeting to closing; 5 = courteous throughout, 0 = rude or dismissive."),
			dim("knowledge", "专业知识 Product knowledge", 20, false,
				"Answers about products, orders and policies are correct and complete; 5 = accurate and thorough, 0 = wrong information."),
			dim("efficiency", "解决效率 Resolution efficiency", 20, false,
				"The issue is understood and resolved quickly without needless back-and-forth; 5 = resolved at first contact, 0 = left unresolved."),
			dim("communication", "沟通技巧 Communication skill", 20, false,
				"Clear, concise, empathetic wording that confirms the customer's need; 5 = clear and reassuring, 0 = confusing."),
			dim("compliance", "流程遵循 Process compliance", 15, true,
				"Required steps are followed (verification, records, refund and escalation procedures); below 3 of 5 zeroes the review."),
		},
		Flags: []Flag{
			{Key: "abusive_language", Name: "Abusive language", Description: "The agent insulted, mocked or swore at the customer."},
			{Key: "privacy_leak", Name: "Leak of customer data", Description: "The agent disclosed personal or order data to someone not entitled to it."},
			{Key: "false_promise", Name: "Promise against policy", Description: "The agent promised a refund, compensation or outcome that policy does not allow."},
		},
		Thresholds: DefaultThresholds(),
	}
}

// Validate checks r and returns every problem found as a *fielderr.Error,
// or nil.
func (r Rubric) Validate() error {
	var errs fielderr.List
	errs.Name("name", r.Name, true)

	switch n := len(r.Dimensions); {
	case n == 0:
		errs.Add("dimensions", "at least one dimension is required")
	case n > MaxDimensions:
		errs.Add("dimensions", "at most %d dimensions, got %d", MaxDimensions, n)
	}
	keys := make(map[string]string, len(r.Dimensions)+len(r.Flags)) // key → field that first used it
	total, weightsOK := 0.0, true
	for i, d := range r.Dimensions {
		field := fmt.Sprintf("dimensions[%d]", i)
		checkKey(&errs, field+".key", d.Key, keys)
		errs.Name(field+".name", d.Name, true)
		errs.Text(field+".criteria", d.Criteria, MaxTextLen, false)
		if !(d.Weight > 0) || math.IsInf(d.Weight, 0) {
			errs.Add(field+".weight", "must be a positive number, got %v", d.Weight)
			weightsOK = false
		}
		total += d.Weight
		if d.Max < 1 || d.Max > MaxScale {
			errs.Add(field+".max", "the rating scale 0..max needs max between 1 and %d, got %d", MaxScale, d.Max)
		}
	}
	// A sum is only worth reporting when each weight is sensible.
	if weightsOK && len(r.Dimensions) > 0 && math.Abs(total-WeightTotal) > Tolerance {
		errs.Add("dimensions", "weights sum to %v, want %d", total, WeightTotal)
	}

	if len(r.Flags) > MaxFlags {
		errs.Add("flags", "at most %d flags, got %d", MaxFlags, len(r.Flags))
	}
	for i, f := range r.Flags {
		field := fmt.Sprintf("flags[%d]", i)
		checkKey(&errs, field+".key", f.Key, keys)
		errs.Name(field+".name", f.Name, true)
		errs.Text(field+".description", f.Description, MaxTextLen, false)
	}

	t := r.Thresholds
	if !(t.Pass > 0) {
		errs.Add("thresholds.pass", "must be above 0, got %v", t.Pass)
	}
	if !(t.Good > t.Pass) {
		errs.Add("thresholds.good", "must be above pass (%v), got %v", t.Pass, t.Good)
	}
	if !(t.Excellent > t.Good && t.Excellent <= WeightTotal) {
		errs.Add("thresholds.excellent", "must be above good (%v) and at most 100, got %v", t.Good, t.Excellent)
	}
	return errs.Err()
}

// checkKey checks the syntax of a dimension or flag key and that no other
// dimension or flag uses it: ratings and flags share one namespace in
// reports.
func checkKey(errs *fielderr.List, field, key string, seen map[string]string) {
	if !validKey(key) {
		errs.Add(field, "must be lowercase snake_case ([a-z][a-z0-9_]*, at most %d bytes), got %s", MaxKeyLen, fielderr.Quote(key))
		return
	}
	if first, ok := seen[key]; ok {
		errs.Add(field, "duplicate key %q, already used by %s", key, first)
		return
	}
	seen[key] = field
}

func validKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen || key[0] < 'a' || key[0] > 'z' {
		return false
	}
	for i := range len(key) {
		c := key[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// ParseRubric decodes a rubric document strictly (unknown fields and
// trailing data are errors; nothing is defaulted) and validates it.
func ParseRubric(doc []byte) (Rubric, error) {
	var r Rubric
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rubric{}, fmt.Errorf("rubric document: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Rubric{}, errors.New("rubric document: trailing data after the rubric")
	}
	if err := r.Validate(); err != nil {
		return Rubric{}, err
	}
	return r, nil
}

// JSON is r's canonical document: equal rubrics give equal bytes (an
// absent list encodes as [], like an empty one), and ParseRubric reads it
// back as an equal rubric.
func (r Rubric) JSON() []byte {
	if r.Dimensions == nil {
		r.Dimensions = []Dimension{}
	}
	if r.Flags == nil {
		r.Flags = []Flag{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		// Only a NaN or infinite weight or threshold can fail, and
		// Validate rejects those; a caller encoding an unvalidated rubric
		// has a bug.
		panic(fmt.Sprintf("scoring: encoding rubric: %v", err))
	}
	return b
}
