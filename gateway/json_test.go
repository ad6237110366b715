package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestMarshalJSONMatchesProtojson: for random messages of every qa.v1
// type, with awkward values (NaN, tiny and huge doubles, control
// characters, unknown enum numbers, maps, oneofs, timestamps), marshalJSON
// writes exactly protojson's output without its random spaces.
func TestMarshalJSONMatchesProtojson(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := 0
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if mt.Descriptor().ParentFile().Package() != "qa.v1" {
			return true
		}
		types++
		for range 200 {
			m := mt.New()
			fill(rng, m, 0)
			want, err := protojson.Marshal(m.Interface())
			if err != nil {
				t.Fatalf("%s: protojson: %v", mt.Descriptor().FullName(), err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatal(err)
			}
			got, err := marshalJSON(m.Interface())
			if err != nil {
				t.Fatalf("%s: %v", mt.Descriptor().FullName(), err)
			}
			if !bytes.Equal(got, compact.Bytes()) {
				t.Fatalf("%s:\n got %s\nwant %s", mt.Descriptor().FullName(), got, compact.Bytes())
			}
		}
		return true
	})
	if types < 50 {
		t.Fatalf("only %d qa.v1 message types found", types)
	}
}

// TestMarshalJSONRefusesWhatProtojsonRefuses: invalid UTF-8 is an error,
// as protojson's.
func TestMarshalJSONRefusesWhatProtojsonRefuses(t *testing.T) {
	m := &qav1.Agent{AgentId: "a\xffb"}
	if _, err := marshalJSON(m); err == nil {
		t.Fatal("invalid UTF-8 rendered")
	}
}

var (
	awkwardDoubles = []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-7, 1e-6, 123456.789, 1e20, 1e21, 1.5e300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 83.75, 2.0 / 3}
	awkwardStrings = []string{"", "a", "agent-1", "质检一号：态度很好", "emoji 😀 and 𝄞", "\x00\x01\x07\x1f\x7f",
		"quote \" backslash \\ slash / <b>&amp;</b>", "line\nbreak\ttab\rcr\bbs\fff", "\u2028\u2029", "é"}
	awkwardInts = []int64{0, 1, -1, 42, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, 1 << 53, -(1 << 53) - 1}
)

// fill sets a random subset of m's fields to awkward values.
func fill(rng *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if rng.IntN(3) == 0 {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range rng.IntN(4) {
				if v, ok := randomValue(rng, fd, l.NewElement(), depth); ok {
					l.Append(v)
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range rng.IntN(4) {
				k, _ := randomValue(rng, fd.MapKey(), protoreflect.Value{}, depth)
				if v, ok := randomValue(rng, fd.MapValue(), mp.NewValue(), depth); ok {
					mp.Set(k.MapKey(), v)
				}
			}
		default:
			var fresh protoreflect.Value
			if fd.Message() != nil {
				fresh = m.NewField(fd)
			}
			if v, ok := randomValue(rng, fd, fresh, depth); ok {
				m.Set(fd, v)
			}
		}
	}
}

func randomValue(rng *rand.Rand, fd protoreflect.FieldDescriptor, fresh protoreflect.Value, depth int) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(rng.IntN(2) == 0), true
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(awkwardStrings[rng.IntN(len(awkwardStrings))]), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(awkwardInts[rng.IntN(len(awkwardInts))])), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(awkwardInts[rng.IntN(len(awkwardInts))]), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(awkwardInts[rng.IntN(len(awkwardInts))])), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(awkwardInts[rng.IntN(len(awkwardInts))])), true
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(awkwardDoubles[rng.IntN(len(awkwardDoubles))])), true
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(awkwardDoubles[rng.IntN(len(awkwardDoubles))]), true
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(awkwardStrings[rng.IntN(len(awkwardStrings))])), true
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		if rng.IntN(5) == 0 {
			return protoreflect.ValueOfEnum(999), true // unknown: a number
		}
		return protoreflect.ValueOfEnum(values.Get(rng.IntN(values.Len())).Number()), true
	case protoreflect.MessageKind:
		if depth > 3 {
			return protoreflect.Value{}, false
		}
		sub := fresh.Message()
		switch sub.Descriptor().FullName() {
		case "google.protobuf.Timestamp":
			f := sub.Descriptor().Fields()
			sub.Set(f.ByName("seconds"), protoreflect.ValueOfInt64(rng.Int64N(4e9)))
			sub.Set(f.ByName("nanos"), protoreflect.ValueOfInt32([]int32{0, 1, 1000, 1e6, 5e8, 999999999}[rng.IntN(6)]))
		case "google.protobuf.Duration":
			f := sub.Descriptor().Fields()
			sub.Set(f.ByName("seconds"), protoreflect.ValueOfInt64(rng.Int64N(1e6)))
			sub.Set(f.ByName("nanos"), protoreflect.ValueOfInt32([]int32{0, 1000, 5e8}[rng.IntN(3)]))
		default:
			fill(rng, sub, depth+1)
		}
		return fresh, true
	}
	return protoreflect.Value{}, false
}
