package sampler

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// TestRandomPartIsUniform checks, with a chi-square test over many seeds,
// that each of m conversations of one agent in one channel lands in the
// random part with probability k/m. Seeds derive from a fixed master seed,
// so the test never flakes: it either always passes or always fails.
//
// The second case adds targeted matches: the random part must stay
// uniform over all conversations, risky ones included, which fails if the
// targeted part took its picks first or the random part skipped matches.
func TestRandomPartIsUniform(t *testing.T) {
	const (
		m    = 20
		runs = 4000
		// chi2Critical is the 0.999 quantile of chi-square with m−1 = 19
		// degrees of freedom.
		chi2Critical = 43.82
	)
	tests := []struct {
		name   string
		policy func(*Policy)
		edit   func(i int, c *Conversation)
	}{
		{"random only", func(p *Policy) { p.RandomPerAgent, p.TargetedPerAgent, p.Rules = 3, 0, nil }, nil},
		{"with targeted matches", nil, func(i int, c *Conversation) {
			switch i % 5 {
			case 0:
				c.Tags = []string{"complaint"}
			case 1:
				c.CustomerTier = "vip"
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			cs := convs("c", m, "a")
			if tt.edit != nil {
				for i := range cs {
					tt.edit(i, &cs[i])
				}
			}
			index := make(map[string]int, m)
			for i, c := range cs {
				index[c.ExternalID] = i
			}
			counts := make([]int, m)
			for run := range runs {
				in := input(p, []Agent{activeAgent("a", "t")}, cs)
				in.Seed = derivedSeed("uniformity", run)
				random := 0
				for _, pk := range mustSample(t, in).Picks {
					if pk.Reason == ReasonRandom && !pk.Backfill {
						counts[index[pk.ExternalID]]++
						random++
					}
				}
				if random != p.RandomPerAgent {
					t.Fatalf("run %d: %d random picks, want %d", run, random, p.RandomPerAgent)
				}
			}
			expected := float64(runs*p.RandomPerAgent) / m
			chi2 := 0.0
			for _, observed := range counts {
				d := float64(observed) - expected
				chi2 += d * d / expected
			}
			t.Logf("chi-square %.1f over %d conversations (critical %.2f); counts %v, expected %.0f each", chi2, m, chi2Critical, counts, expected)
			if chi2 > chi2Critical {
				t.Errorf("chi-square %.1f > %.2f: the random part is not uniform", chi2, chi2Critical)
			}
		})
	}
}

// derivedSeed is the i-th seed drawn from a fixed master seed.
func derivedSeed(master string, i int) []byte {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(master), uint64(i)))
	return sum[:]
}
