package synth

import (
	"errors"
	"math/rand/v2"
	"time"

	"qa-sampling/transcript"
)

// History lays out chats over consecutive weeks, for demo data whose
// reports have a trend: PerWeek chats in each of Weeks weeks ending with
// the week starting at LastWeekStart, spread evenly over each week.
//
// External ids number the chats in time order from IDOffset, across the
// weeks: a run for more weeks, or a second run given an IDOffset past the
// first's ids, never reuses an id (a reused id would update, not add, a
// chat). With one week and IDOffset 0 the chats are exactly those qagen
// wrote before History existed.
type History struct {
	Weeks, PerWeek, Agents int
	LastWeekStart          time.Time
	IDOffset               int
	// Transfers is the share of chats handed over between two agents.
	Transfers float64
	Vocab     Vocab
}

// FirstWeekStart is the start of the oldest week.
func (h History) FirstWeekStart() time.Time {
	return h.LastWeekStart.AddDate(0, 0, -7*(h.Weeks-1))
}

// Total is how many chats Generate emits; the next run's IDOffset is
// IDOffset + Total.
func (h History) Total() int { return h.Weeks * h.PerWeek }

// Generate emits the chats oldest first, drawing from rng.
func (h History) Generate(rng *rand.Rand, emit func(transcript.Transcript) error) error {
	if h.Weeks < 1 || h.PerWeek < 1 || h.Agents < 2 || h.IDOffset < 0 {
		return errors.New("history: need at least 1 week, 1 chat a week, 2 agents and a non-negative id offset")
	}
	step := 7 * 24 * time.Hour / time.Duration(h.PerWeek)
	for w := range h.Weeks {
		start := h.FirstWeekStart().AddDate(0, 0, 7*w)
		next := start.AddDate(0, 0, 7)
		for i := range h.PerWeek {
			end := start.Add(time.Duration(i+1) * step)
			// The last chat of a week ends at the next week's first instant,
			// as qagen's single week always had; a history keeps each week's
			// chats inside it, so that none lands in a week not asked for.
			if h.Weeks > 1 && !end.Before(next) {
				end = next.Add(-time.Second)
			}
			agent := rng.IntN(h.Agents)
			t := h.Vocab.Transcript(rng, h.IDOffset+w*h.PerWeek+i, AgentID(agent), end)
			if rng.Float64() < h.Transfers {
				Transfer(&t, AgentID((agent+1)%h.Agents))
			}
			if err := emit(t); err != nil {
				return err
			}
		}
	}
	return nil
}
