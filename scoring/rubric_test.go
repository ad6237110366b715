package scoring

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"qa-sampling/fielderr"
)

func TestDefaultRubric(t *testing.T) {
	r := DefaultRubric()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key    string
		weight float64
	}{{"attitude", 25}, {"knowledge", 20}, {"efficiency", 20}, {"communication", 20}, {"compliance", 15}}
	if len(r.Dimensions) != len(want) {
		t.Fatalf("%d dimensions, want %d", len(r.Dimensions), len(want))
	}
	for i, d := range r.Dimensions {
		if d.Key != want[i].key || d.Weight != want[i].weight || d.Max != 5 || !d.AllowNA || d.Criteria == "" {
			t.Errorf("dimension %d = %+v, want key %s, weight %v, max 5, N/A allowed, criteria", i, d, want[i].key, want[i].weight)
		}
		if d.Critical != (d.Key == "compliance") {
			t.Errorf("dimension %s: Critical = %v; only compliance is critical", d.Key, d.Critical)
		}
	}
	var flags []string
	for _, f := range r.Flags {
		flags = append(flags, f.Key)
	}
	if got := strings.Join(flags, ","); got != "abusive_language,privacy_leak,false_promise" {
		t.Errorf("flags = %s", got)
	}
	if r.Name != "default" || r.Thresholds != (Thresholds{Excellent: 90, Good: 80, Pass: 70}) {
		t.Errorf("name %q, thresholds %+v", r.Name, r.Thresholds)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Rubric)
		field  string
		inText string
	}{
		{"no name", func(r *Rubric) { r.Name = "" }, "name", "required"},
		{"blank name", func(r *Rubric) { r.Name = " \t" }, "name", "required"},
		{"no dimensions", func(r *Rubric) { r.Dimensions = nil }, "dimensions", "at least one"},
		{"too many dimensions", func(r *Rubric) {
			r.Dimensions = nil
			for i := range MaxDimensions + 1 {
				r.Dimensions = append(r.Dimensions, Dimension{Key: "d" + strings.Repeat("x", i), Name: "D", Weight: 100.0 / (MaxDimensions + 1), Max: 5})
			}
		}, "dimensions", "at most 50"},
		{"empty key", func(r *Rubric) { r.Dimensions[0].Key = "" }, "dimensions[0].key", "snake_case"},
		{"upper-case key", func(r *Rubric) { r.Dimensions[1].Key = "Knowledge" }, "dimensions[1].key", "snake_case"},
		{"key with digit first", func(r *Rubric) { r.Dimensions[1].Key = "1st" }, "dimensions[1].key", "snake_case"},
		{"key with hyphen", func(r *Rubric) { r.Dimensions[1].Key = "product-knowledge" }, "dimensions[1].key", "snake_case"},
		{"key too long", func(r *Rubric) { r.Dimensions[1].Key = strings.Repeat("k", MaxKeyLen+1) }, "dimensions[1].key", "snake_case"},
		{"duplicate dimension key", func(r *Rubric) { r.Dimensions[3].Key = "attitude" }, "dimensions[3].key", "already used by dimensions[0].key"},
		{"no dimension name", func(r *Rubric) { r.Dimensions[2].Name = "" }, "dimensions[2].name", "required"},
		{"criteria too long", func(r *Rubric) { r.Dimensions[2].Criteria = strings.Repeat("x", MaxTextLen+1) }, "dimensions[2].criteria", "at most"},
		{"criteria not UTF-8", func(r *Rubric) { r.Dimensions[2].Criteria = "\xff" }, "dimensions[2].criteria", "UTF-8"},
		{"zero weight", func(r *Rubric) { r.Dimensions[2].Weight = 0 }, "dimensions[2].weight", "positive"},
		{"negative weight", func(r *Rubric) { r.Dimensions[2].Weight, r.Dimensions[0].Weight = -5, 50 }, "dimensions[2].weight", "positive"},
		{"NaN weight", func(r *Rubric) { r.Dimensions[2].Weight = math.NaN() }, "dimensions[2].weight", "positive"},
		{"infinite weight", func(r *Rubric) { r.Dimensions[2].Weight = math.Inf(1) }, "dimensions[2].weight", "positive"},
		{"weights sum to 95", func(r *Rubric) { r.Dimensions[0].Weight = 20 }, "dimensions", "weights sum to 95, want 100"},
		{"weights sum just over 100", func(r *Rubric) { r.Dimensions[0].Weight = 25 + 1e-8 }, "dimensions", "want 100"},
		{"zero max", func(r *Rubric) { r.Dimensions[0].Max = 0 }, "dimensions[0].max", "between 1 and 100"},
		{"max too large", func(r *Rubric) { r.Dimensions[0].Max = MaxScale + 1 }, "dimensions[0].max", "between 1 and 100"},
		{"bad flag key", func(r *Rubric) { r.Flags[1].Key = "Privacy Leak" }, "flags[1].key", "snake_case"},
		{"duplicate flag key", func(r *Rubric) { r.Flags[2].Key = "abusive_language" }, "flags[2].key", "already used by flags[0].key"},
		{"flag key is a dimension key", func(r *Rubric) { r.Flags[0].Key = "compliance" }, "flags[0].key", "already used by dimensions[4].key"},
		{"no flag name", func(r *Rubric) { r.Flags[0].Name = "" }, "flags[0].name", "required"},
		{"too many flags", func(r *Rubric) {
			for i := range MaxFlags {
				r.Flags = append(r.Flags, Flag{Key: "f" + strings.Repeat("x", i), Name: "F"})
			}
		}, "flags", "at most 50"},
		{"missing thresholds", func(r *Rubric) { r.Thresholds = Thresholds{} }, "thresholds.pass", "above 0"},
		{"pass not above zero", func(r *Rubric) { r.Thresholds.Pass = -1 }, "thresholds.pass", "above 0"},
		{"good not above pass", func(r *Rubric) { r.Thresholds.Good = 70 }, "thresholds.good", "above pass"},
		{"excellent not above good", func(r *Rubric) { r.Thresholds.Excellent = 80 }, "thresholds.excellent", "above good"},
		{"excellent above 100", func(r *Rubric) { r.Thresholds.Excellent = 100.5 }, "thresholds.excellent", "at most 100"},
		{"NaN pass", func(r *Rubric) { r.Thresholds.Pass = math.NaN() }, "thresholds.pass", "above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRubric()
			tt.edit(&r)
			err := r.Validate()
			if !hasFieldError(err, tt.field, tt.inText) {
				t.Errorf("Validate() = %v, want a *FieldError on %s containing %q", err, tt.field, tt.inText)
			}
		})
	}
}

func TestValidateAcceptsEdges(t *testing.T) {
	r := DefaultRubric()
	// No critical flags, excellent at 100, the smallest and largest scales,
	// weights summing to 100 within Tolerance.
	r.Flags = nil
	r.Thresholds = Thresholds{Excellent: 100, Good: 99.5, Pass: 0.5}
	r.Dimensions[0].Max, r.Dimensions[1].Max = 1, MaxScale
	r.Dimensions[0].Weight, r.Dimensions[1].Weight = 25+1e-10, 20-1e-10
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	r := DefaultRubric()
	r.Name = ""
	r.Dimensions[1].Max = 0
	r.Flags[0].Key = "X"
	r.Thresholds.Excellent = 101
	err := r.Validate()
	fields := fieldsOf(err)
	want := []string{"name", "dimensions[1].max", "flags[0].key", "thresholds.excellent"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("fields = %q, want %q (err %v)", fields, want, err)
	}
}

func TestParseRubric(t *testing.T) {
	def := DefaultRubric()
	r, err := ParseRubric(def.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, def) {
		t.Errorf("round trip changed the rubric:\n got %+v\nwant %+v", r, def)
	}
	if !bytes.Equal(r.JSON(), def.JSON()) {
		t.Error("JSON is not canonical across a round trip")
	}

	noFlags := def
	noFlags.Flags = nil
	if !bytes.Contains(noFlags.JSON(), []byte(`"flags":[]`)) {
		t.Errorf("nil flags encode as %s, want []", noFlags.JSON())
	}

	for _, tt := range []struct {
		name, doc, field, inText string
	}{
		{"unknown field", `{"name":"x","weights":[]}`, "", `unknown field "weights"`},
		{"unknown dimension field", strings.Replace(string(def.JSON()), `"max":5`, `"max":5,"min":0`, 1), "", `unknown field "min"`},
		{"trailing data", string(def.JSON()) + ` {}`, "", "trailing data"},
		{"not JSON", `name: default`, "", "rubric document"},
		{"wrong type", `{"name":1}`, "", "rubric document"},
		{"missing max is not defaulted", strings.Replace(string(def.JSON()), `"max":5,`, ``, 1), "dimensions[0].max", "between 1"},
		{"missing thresholds", `{"name":"x","dimensions":[{"key":"a","name":"A","weight":100,"max":5}],"flags":[]}`, "thresholds.pass", "above 0"},
		{"null", `null`, "name", "required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRubric([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.inText) {
				t.Fatalf("ParseRubric() = %v, want an error containing %q", err, tt.inText)
			}
			if tt.field != "" && !hasFieldError(err, tt.field, tt.inText) {
				t.Errorf("ParseRubric() = %v, want a *FieldError on %s", err, tt.field)
			}
		})
	}
}

// hasFieldError reports whether err is a *fielderr.Error with a violation
// on field whose reason contains text.
func hasFieldError(err error, field, text string) bool {
	for _, v := range violations(err) {
		if v.Field == field && strings.Contains(v.Reason, text) {
			return true
		}
	}
	return false
}

// fieldsOf lists the fields of err's violations in order; it returns "?"
// for an error that is not a *fielderr.Error.
func fieldsOf(err error) []string {
	if err == nil {
		return nil
	}
	if _, ok := fielderr.As(err); !ok {
		return []string{"?"}
	}
	var out []string
	for _, v := range violations(err) {
		out = append(out, v.Field)
	}
	return out
}

func violations(err error) []fielderr.Violation {
	if fe, ok := fielderr.As(err); ok {
		return fe.Violations
	}
	return nil
}
