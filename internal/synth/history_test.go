package synth

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"qa-sampling/isoweek"
	"qa-sampling/transcript"
)

var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

func collect(t *testing.T, h History, seed uint64) []transcript.Transcript {
	t.Helper()
	var out []transcript.Transcript
	if err := h.Generate(rand.New(rand.NewPCG(seed, seed)), func(tr transcript.Transcript) error {
		out = append(out, tr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// One week from id 0 is what qagen wrote before histories: the benchmark
// and tour scripts get the same files.
func TestHistoryOfOneWeekIsTheSingleWeek(t *testing.T) {
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, shanghai)
	const n, agents, transfers = 500, 7, 0.2
	got := collect(t, History{Weeks: 1, PerWeek: n, Agents: agents, LastWeekStart: start, Transfers: transfers, Vocab: Classic}, 9)

	rng := rand.New(rand.NewPCG(9, 9))
	step := 7 * 24 * time.Hour / n
	for i := range n { // qagen's loop before History
		agent := rng.IntN(agents)
		want := Transcript(rng, i, AgentID(agent), start.Add(time.Duration(i+1)*step))
		if rng.Float64() < transfers {
			Transfer(&want, AgentID((agent+1)%agents))
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("chat %d differs from the single-week loop's", i)
		}
	}
}

// Several weeks: ids distinct and increasing with time across the weeks and
// across a second run given the first's end as offset, each week's chats
// inside that week, the last week the one asked for.
func TestHistoryWeeksHaveDistinctIDs(t *testing.T) {
	last, err := isoweek.Parse("2026-W02")
	if err != nil {
		t.Fatal(err)
	}
	lastStart, _ := last.Bounds(shanghai)
	first := History{Weeks: 4, PerWeek: 50, Agents: 5, LastWeekStart: lastStart, Vocab: Platform}
	second := first
	second.IDOffset = first.Total()
	chats := append(collect(t, first, 1), collect(t, second, 2)...)
	if len(chats) != 400 {
		t.Fatalf("%d chats, want 2 runs × 4 weeks × 50", len(chats))
	}
	wantWeeks := []string{"2025-W51", "2025-W52", "2026-W01", "2026-W02"}
	seen := map[string]bool{}
	perWeek := map[string]int{}
	for i, c := range chats {
		if seen[c.ExternalID] {
			t.Fatalf("chat %d reuses id %s", i, c.ExternalID)
		}
		seen[c.ExternalID] = true
		if c.ExternalID != ExternalID(i) {
			t.Errorf("chat %d has id %s, want %s: ids number chats in order across weeks and runs", i, c.ExternalID, ExternalID(i))
		}
		wk := isoweek.Of(c.EndedAt, shanghai).String()
		if want := wantWeeks[(i%200)/50]; wk != want {
			t.Errorf("chat %d (%s) ends %s in %s, want %s", i, c.ExternalID, c.EndedAt, wk, want)
		}
		perWeek[wk]++
		if fe := transcript.Validate(&c, transcript.DefaultLimits(), lastStart.AddDate(0, 0, 7)); fe != nil {
			t.Fatalf("chat %d invalid: %v", i, fe)
		}
	}
	for _, w := range wantWeeks {
		if perWeek[w] != 100 {
			t.Errorf("%s has %d chats, want 100", w, perWeek[w])
		}
	}
	if got := first.FirstWeekStart(); !got.Equal(time.Date(2025, 12, 15, 0, 0, 0, 0, shanghai)) {
		t.Errorf("first week starts %s, want Monday 2025-12-15 (2025-W51)", got)
	}
}

func TestHistoryRefusesNonsense(t *testing.T) {
	for _, h := range []History{
		{Weeks: 0, PerWeek: 1, Agents: 2},
		{Weeks: 1, PerWeek: 0, Agents: 2},
		{Weeks: 1, PerWeek: 1, Agents: 1},
		{Weeks: 1, PerWeek: 1, Agents: 2, IDOffset: -1},
	} {
		if err := h.Generate(rand.New(rand.NewPCG(1, 1)), func(transcript.Transcript) error { return nil }); err == nil {
			t.Errorf("%+v: no error", h)
		}
	}
}

// Platform labels chats as Chinese platforms do: the Chinese complaint,
// refund and escalation tags beside English ones, tiers regular, gold and
// platinum.
func TestPlatformVocabulary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	tags, tiers := map[string]int{}, map[string]int{}
	for i := range 2000 {
		c := Platform.Transcript(rng, i, AgentID(0), end)
		tiers[c.CustomerTier]++
		for _, tag := range c.Tags {
			tags[tag]++
		}
	}
	for _, want := range []string{"投诉", "退款", "升级", "complaint", "Refund", "escalation"} {
		if tags[want] == 0 {
			t.Errorf("no chat tagged %s: %v", want, tags)
		}
	}
	if len(tiers) != 3 || tiers["regular"] == 0 || tiers["gold"] == 0 || tiers["platinum"] == 0 {
		t.Errorf("tiers %v, want regular, gold and platinum", tiers)
	}
	if tiers["regular"] < tiers["gold"]+tiers["platinum"] {
		t.Errorf("tiers %v: most customers should be regular", tiers)
	}
}
