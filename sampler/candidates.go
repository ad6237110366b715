package sampler

import (
	"math"
	"slices"
	"time"
)

// candidate is a conversation as an agent's bounded lists keep it.
type candidate struct {
	key uint64
	id  string
}

// before is the order of picking: by key, then by external id, so that a
// 64-bit key collision (about one in 10¹³ for a week of a million chats)
// still has a deterministic order.
func (c candidate) before(d candidate) bool {
	return c.key < d.key || c.key == d.key && c.id < d.id
}

// smallest keeps the limit first candidates in picking order, ascending.
// Offering is O(1) for the common rejected case and O(limit) otherwise;
// the i-th of n offers is kept with probability limit/i, so keeping costs
// O(limit · log n) over a run. A candidate offered twice is kept once.
type smallest struct {
	limit int
	// cutoff is the last kept key once the list is full (until then the
	// largest key), held here so that rejecting a candidate does not touch
	// items: a run offers a million candidates to lists spread over
	// thousands of agents, and most are rejected.
	cutoff uint64
	items  []candidate
}

func newSmallest(limit int) smallest {
	return smallest{limit: limit, cutoff: math.MaxUint64}
}

func (s *smallest) offer(c candidate) {
	if c.key > s.cutoff || s.limit == 0 {
		return
	}
	n := len(s.items)
	if n == s.limit && !c.before(s.items[n-1]) {
		return
	}
	i := n
	for i > 0 && c.before(s.items[i-1]) {
		i--
	}
	if i > 0 && s.items[i-1] == c {
		return
	}
	if n < s.limit {
		s.items = append(s.items, candidate{})
	}
	copy(s.items[i+1:], s.items[i:])
	s.items[i] = c
	if len(s.items) == s.limit {
		s.cutoff = s.items[s.limit-1].key
	}
}

// skyline keeps, for a threshold known only after the last offer, every
// candidate that can be among the limit first (in picking order) with a
// handle time above that threshold.
//
// Candidate x can be, for some threshold, among the limit first with a
// handle time above it if and only if fewer than limit candidates come
// before x with a handle time ≥ x's ("dominators"): the most favourable
// threshold is just below x's own handle time. Other candidates can never
// be picked and are dropped. Since keys are a keyed hash, independent of
// handle times, the expected number kept is about limit · ln n for n
// offers, whatever the handle times are.
//
// Dropping is safe in any offer order: if x has limit dominators among
// all candidates seen, the limit first of {handle ≥ x's} are kept and
// dominate x, so counting dominators among kept ones suffices; and a
// dropped candidate dominates no kept one (its dominators would dominate
// that one too).
//
// Keys and handle times, which every offer scans, are kept apart from ids
// and counts, which only keeping touches, so that a scan reads few cache
// lines.
type skyline struct {
	limit int
	// Parallel slices, in picking order.
	heads []timedHead
	ids   []string
	// dominators counts, for each kept candidate, the kept-or-seen
	// candidates ahead of it in picking order with a handle time at least
	// as long; at limit it is dropped.
	dominators []int
	// With limit or more kept, floorKey is the limit-th kept key and
	// floor the shortest handle time among the first limit: a candidate
	// with a larger key and a handle time no longer than floor has limit
	// dominators among those, and is dropped without a scan (most are).
	floorKey uint64
	floor    time.Duration
}

// timedHead is what deciding whether a candidate is dominated reads.
type timedHead struct {
	key    uint64
	handle time.Duration
}

// before reports whether kept candidate i comes before c in picking order.
func (s *skyline) before(i int, c candidate) bool {
	k := s.heads[i].key
	return k < c.key || k == c.key && s.ids[i] < c.id
}

func (s *skyline) offer(c candidate, handle time.Duration) {
	if s.limit > 0 && len(s.heads) >= s.limit && c.key > s.floorKey && handle <= s.floor {
		return
	}
	dominators := 0
	i := 0
	for ; i < len(s.heads) && s.before(i, c); i++ {
		if s.heads[i].handle >= handle {
			dominators++
			if dominators >= s.limit {
				return
			}
		}
	}
	if i < len(s.heads) && s.heads[i].key == c.key && s.ids[i] == c.id {
		return
	}
	s.heads = slices.Insert(s.heads, i, timedHead{key: c.key, handle: handle})
	s.ids = slices.Insert(s.ids, i, c.id)
	s.dominators = slices.Insert(s.dominators, i, dominators)
	// c now dominates those after it with a handle time ≤ its own.
	kept := i + 1
	for j := i + 1; j < len(s.heads); j++ {
		if s.heads[j].handle <= handle {
			s.dominators[j]++
			if s.dominators[j] >= s.limit {
				continue
			}
		}
		s.heads[kept], s.ids[kept], s.dominators[kept] = s.heads[j], s.ids[j], s.dominators[j]
		kept++
	}
	clear(s.ids[kept:]) // let dropped ids be collected
	s.heads, s.ids, s.dominators = s.heads[:kept], s.ids[:kept], s.dominators[:kept]
	if s.limit > 0 && kept >= s.limit {
		s.floorKey, s.floor = s.heads[s.limit-1].key, s.heads[0].handle
		for _, h := range s.heads[1:s.limit] {
			s.floor = min(s.floor, h.handle)
		}
	}
}

// above returns, in picking order, the first limit kept candidates whose
// handle time is strictly above threshold.
func (s *skyline) above(threshold time.Duration) []candidate {
	var out []candidate
	for i, h := range s.heads {
		if len(out) == s.limit {
			break
		}
		if h.handle > threshold {
			out = append(out, candidate{key: h.key, id: s.ids[i]})
		}
	}
	return out
}
