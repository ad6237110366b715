package checks

// FlagCount is how many checked conversations of one week carry exactly
// one combination of flags.
type FlagCount struct {
	Week  string
	Flags uint64
	Chats int64
}

// WeekRate is how often a check fired in one week.
type WeekRate struct {
	Week  string
	Chats int64
	Fired int64
	Rate  float64
}

// Rate is how often a check fired over all the weeks, with each week's.
type Rate struct {
	Check  string
	Chats  int64
	Fired  int64
	Rate   float64
	ByWeek []WeekRate
}

// Rates gives each check's rate (in Keys order) over counts, with one
// entry per week of weeks (oldest first) even where nothing was checked.
// Rate is fired ÷ chats, 0 without chats.
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
