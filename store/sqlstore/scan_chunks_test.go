package sqlstore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// TestScanWeekChunksMatchRows: ScanWeek on SQLite reads the week an hour
// of records at a time (scanWeekChunks); it yields the rows, field for
// field, that reading them one by one does (scanSampleRows), over ranges
// that start and end inside an hour, rows at the hour boundaries, hours
// without rows, transfers with several authors and tags in several
// scripts.
func TestScanWeekChunksMatchRows(t *testing.T) {
	s := newSQLite(t)
	ctx := t.Context()
	agents := []string{"a0", "a1", "a2", "a3"}
	if err := s.EnsureAgents(ctx, agents); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var batch []*transcript.Prepared
	for i := range 9000 { // more than scanAfterChunk ids
		// Every minute or so, and some on the hour; none in the third day.
		end := benchWeek.Add(time.Duration(i) * 67 * time.Second)
		if i%50 == 0 {
			end = end.Truncate(time.Hour)
		}
		if d := end.Sub(benchWeek); d >= 48*time.Hour && d < 72*time.Hour {
			continue
		}
		tr := synth.Transcript(rng, i, agents[i%len(agents)], end)
		tr.ExternalID = fmt.Sprintf("c-%04d", i)
		if i%7 == 0 {
			tr.AgentID = agents[(i+1)%len(agents)]
			synth.Transfer(&tr, agents[i%len(agents)])
		}
		tr.Tags = append(tr.Tags, []string{"投诉", "VIP", "a,b"}[i%3])
		batch = append(batch, s.Codec().Prepare(tr))
	}
	if _, err := s.UpsertTranscripts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]time.Time{
		{benchWeek, benchWeek.AddDate(0, 0, 7)},
		{benchWeek.Add(17 * time.Minute), benchWeek.Add(50*time.Hour + 3*time.Minute)},
		{benchWeek.Add(5 * time.Hour), benchWeek.Add(5 * time.Hour)},
		{benchWeek.Add(49 * time.Hour), benchWeek.Add(70 * time.Hour)},
	} {
		chunked := sortedRows(t, func(fn func(store.SampleRow) error) error {
			return s.ScanWeek(ctx, r[0], r[1], store.ScanOptions{}, fn)
		})
		rows := sortedRows(t, func(fn func(store.SampleRow) error) error {
			return s.scanSampleRows(ctx, scanWeekSQL(dialectSQLite, store.ScanOptions{}), store.ScanOptions{},
				[]any{r[0].UnixMilli(), r[1].UnixMilli()}, fn)
		})
		if !reflect.DeepEqual(chunked, rows) {
			t.Errorf("[%s, %s): chunked scan read %d rows, row by row %d, or they differ", r[0], r[1], len(chunked), len(rows))
		}
		if r == [2]time.Time{benchWeek, benchWeek.AddDate(0, 0, 7)} && len(rows) < 500 {
			t.Fatalf("the whole week has %d rows", len(rows))
		}
		// A top-up's scan, by id ranges (scanWeekAfterChunks), against the
		// row-by-row one.
		hw, err := s.TranscriptHighWater(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ids := range [][2]int64{{0, hw}, {1, hw}, {hw / 3, hw}, {hw - scanAfterChunk - 1, hw}, {hw - 1, hw}, {hw, hw},
			{0, hw / 2}, {hw / 3, hw/3 + scanAfterChunk + 7}, {0, math.MaxInt64}} {
			after, through := ids[0], ids[1]
			chunked := sortedRows(t, func(fn func(store.SampleRow) error) error {
				return s.ScanWeekAfter(ctx, r[0], r[1], after, through, store.ScanOptions{}, fn)
			})
			rows := sortedRows(t, func(fn func(store.SampleRow) error) error {
				return s.scanSampleRows(ctx, scanWeekAfterSQL(dialectSQLite, store.ScanOptions{}), store.ScanOptions{},
					[]any{r[0].UnixMilli(), r[1].UnixMilli(), after, through}, fn)
			})
			if !reflect.DeepEqual(chunked, rows) {
				t.Errorf("[%s, %s) ids (%d, %d]: chunked scan read %d rows, row by row %d, or they differ", r[0], r[1], after, through, len(chunked), len(rows))
			}
		}
	}
}
