package checks

// FlagCount is how many checked conversations of one week carry exactly
// one combination of flags, checked with exactly one set of checks on.
type FlagCount struct {
	Week string
	// Ran are the checks that ran on these conversations (bit i =
	// Keys[i]; Set.EnabledMask of the version that checked them): a check
	// not in it neither fired nor passed on them.
	Ran   uint64
	Flags uint64
	Chats int64
}

// WeekRate is how often a check fired in one week. Chats are the
// conversations the check ran on, its rate's denominator.
type WeekRate struct {
	Week  string
	Chats int64
	Fired int64
	Rate  float64
}

// Rate is how often a check fired over all the weeks, with each week's.
// Chats are the conversations the check ran on: checks switched off in
// some version have fewer than the others.
type Rate struct {
	Check  string
	Chats  int64
	Fired  int64
	Rate   float64
	ByWeek []WeekRate
}

// Rates gives each check's rate (in Keys order) over counts, with one
// entry per week of weeks (oldest first) even where nothing was checked.
// A check counts a conversation only where it ran (FlagCount.Ran); Rate
// is fired ÷ chats, 0 without chats.
func Rates(weeks []string, counts []FlagCount) []Rate {
	index := make(map[string]int, len(weeks))
	for i, w := range weeks {
		index[w] = i
	}
	out := make([]Rate, len(Keys))
	for k := range out {
		out[k] = Rate{Check: Keys[k], ByWeek: make([]WeekRate, len(weeks))}
		for i, w := range weeks {
			out[k].ByWeek[i].Week = w
		}
	}
	for _, c := range counts {
		i, ok := index[c.Week]
		if !ok {
			continue
		}
		for k := range out {
			if c.Ran&(1<<k) == 0 {
				continue
			}
			w := &out[k].ByWeek[i]
			w.Chats += c.Chats
			if c.Flags&(1<<k) != 0 {
				w.Fired += c.Chats
			}
		}
	}
	for k := range out {
		r := &out[k]
		for i := range r.ByWeek {
			w := &r.ByWeek[i]
			r.Chats += w.Chats
			r.Fired += w.Fired
			w.Rate = share(w.Fired, w.Chats)
		}
		r.Rate = share(r.Fired, r.Chats)
	}
	return out
}

func share(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}
