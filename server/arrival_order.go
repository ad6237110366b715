package server

import "time"

// backfillBatchFactor is how many times --max-batch a stream whose chats
// arrive out of end-time order may write in one transaction. Such a
// stream (a history export sorted by customer or id) inserts into the
// end-time and external-id indexes at random places: each commit then
// dirties an index page per row instead of a few, and larger commits let
// one page take many rows. Measured (BENCHMARKS.md, backfill): 100k
// shuffled chats cost qad 108 µs of CPU each in 512-chat commits, 85 µs
// in 4,096-chat ones, against 79 µs in time order.
const backfillBatchFactor = 8

// arrivalOrder tells, per stream, whether chats arrive in end-time order,
// from the share of chats that ended before the one received just
// before them, over the recent window.
type arrivalOrder struct {
	last            time.Time
	seen, backwards int
}

// arrivalWindow: the counts halve every so many chats, so a stream that
// turns to time order (or away from it) is followed.
const arrivalWindow = 4096

func (o *arrivalOrder) note(items []pendingItem) {
	for _, it := range items {
		if it.prepared == nil {
			continue
		}
		end := it.prepared.EndedAt
		if end.Before(o.last) {
			o.backwards++
		}
		o.last = end
		o.seen++
		if o.seen >= arrivalWindow {
			o.seen, o.backwards = o.seen/2, o.backwards/2
		}
	}
}

// batchLimit is how many chats one write may take: max, or
// backfillBatchFactor times that once a quarter of the recent chats came
// out of order (in a time-ordered stream few do: only chats of several
// agents ending in the same instant interleave).
func (o *arrivalOrder) batchLimit(max int) int {
	if o.seen >= 256 && 4*o.backwards > o.seen {
		return max * backfillBatchFactor
	}
	return max
}
