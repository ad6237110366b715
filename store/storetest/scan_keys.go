package storetest

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"qa-sampling/sampler"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// testScanWeekKeySeed: ScanOptions.KeySeed changes nothing of the rows but
// their keys, which a backend may hand over or not (SQLite keeps them in
// its hour blocks, PostgreSQL does not): a scan with a seed returns the
// rows of one without, and every row it keys carries sampler.Key under
// that seed, never under a seed asked before. Without a seed no row is
// keyed. Over whole weeks, weeks that do not start on an hour, again (a
// store may answer the second scan from what the first kept, or from what
// PackWeek packed), with another seed, with extra columns, and for a
// top-up's scan.
func testScanWeekKeySeed(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2", "a3")
	var items []*transcript.Prepared
	for i := range 60 {
		end := weekFrom.Add(time.Duration(i)*163*time.Minute + time.Duration(i)*time.Second)
		switch i {
		case 0:
			end = weekFrom
		case 1:
			end = weekTo.Add(-time.Millisecond)
		case 2:
			end = weekFrom.Add(30 * time.Minute) // the first moment of the shifted week
		case 3:
			end = weekFrom.Add(30*time.Minute - time.Millisecond)
		case 4:
			end = weekTo.Add(29 * time.Minute) // in the shifted week only
		}
		tr := ending(fmt.Sprintf("key-%02d", i), []string{"a1", "a2", "a3"}[i%3], end)
		switch i % 4 {
		case 0:
			tr.Tags = nil
		case 1:
			tr.Tags = []string{"投诉", "退款"}
		}
		if i%5 == 0 {
			tr.CSAT = 0
		}
		if i%6 == 0 { // a transfer: a helper wrote too
			tr.Messages = append(tr.Messages, transcript.Message{Role: transcript.RoleAgent, AgentID: "a3",
				Text: "我来接手", SentAt: tr.EndedAt.Add(-time.Second)})
			tr.TransferCount = 1
		}
		items = append(items, prepare(tr))
	}
	upsert(t, s, items...)
	before := highWater(t, s)
	upsert(t, s, prepare(ending("key-late", "a2", weekFrom.Add(50*time.Hour))))

	scan := func(from, to time.Time, opts store.ScanOptions) map[string]store.SampleRow {
		t.Helper()
		out := map[string]store.SampleRow{}
		if err := s.ScanWeek(t.Context(), from, to, opts, func(r store.SampleRow) error {
			if _, dup := out[r.ExternalID]; dup {
				t.Errorf("ScanWeek(%+v) returned %q twice", opts, r.ExternalID)
			}
			out[r.ExternalID] = r
			return nil
		}); err != nil {
			t.Fatalf("ScanWeek(%+v): %v", opts, err)
		}
		return out
	}
	// check compares got with the rows of a scan without a seed, fields
	// but the keys, and the keys with the seed's.
	check := func(step string, got, want map[string]store.SampleRow, seed string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d rows, want %d", step, len(got), len(want))
		}
		for id, w := range want {
			r, ok := got[id]
			if !ok {
				t.Errorf("%s: %s missing", step, id)
				continue
			}
			if r.Keyed {
				if seed == "" {
					t.Errorf("%s: %s keyed %x without a seed", step, id, r.Key)
				} else if k := sampler.Key([]byte(seed), id); r.Key != k {
					t.Errorf("%s: %s keyed %x, want %x (sampler.Key under %q)", step, id, r.Key, k, seed)
				}
			}
			r.Key, r.Keyed, w.Key, w.Keyed = 0, false, 0, false
			if !reflect.DeepEqual(r, w) {
				t.Errorf("%s: row %s\n got %+v\nwant %+v", step, id, r, w)
			}
		}
	}
	const seedA, seedB = "conformance seed A", "conformance seed B"
	weeks := []struct {
		name     string
		from, to time.Time
	}{
		{"week", weekFrom, weekTo},
		{"week from half past", weekFrom.Add(30 * time.Minute), weekTo.Add(30 * time.Minute)},
		{"part of a week", weekFrom.Add(13*time.Hour + 7*time.Minute), weekFrom.Add(60 * time.Hour)},
	}
	for _, w := range weeks {
		// Packing for a seed (a cache a backend may keep) changes no row.
		if n, err := s.PackWeek(t.Context(), w.from, w.to, seedB); err != nil || n < 0 {
			t.Fatalf("%s: PackWeek = %d, %v", w.name, n, err)
		}
		plain := scan(w.from, w.to, store.ScanOptions{})
		if len(plain) < 10 {
			t.Fatalf("%s: %d rows", w.name, len(plain))
		}
		check(w.name+": no seed", plain, plain, "")
		for _, c := range []struct {
			step, seed string
		}{
			{"seed A", seedA}, {"seed A again", seedA}, {"seed B", seedB}, {"seed B again", seedB}, {"seed A after B", seedA},
		} {
			check(w.name+": "+c.step, scan(w.from, w.to, store.ScanOptions{KeySeed: c.seed}), plain, c.seed)
		}
		check(w.name+": no seed after seeds", scan(w.from, w.to, store.ScanOptions{}), plain, "")
		if _, err := s.PackWeek(t.Context(), w.from, w.to, seedA); err != nil {
			t.Fatalf("%s: PackWeek: %v", w.name, err)
		}
		check(w.name+": seed A after packing for it", scan(w.from, w.to, store.ScanOptions{KeySeed: seedA}), plain, seedA)

		// With extra columns: the same rows and extras as without a seed.
		opts := store.ScanOptions{Attributes: true, ResponseTimes: true, CheckFlags: true}
		extras := scan(w.from, w.to, opts)
		opts.KeySeed = seedB
		check(w.name+": seed B with extra columns", scan(w.from, w.to, opts), extras, seedB)
	}

	// A top-up's scan of the chats pushed after the week's run.
	after := func(opts store.ScanOptions) map[string]store.SampleRow {
		t.Helper()
		out := map[string]store.SampleRow{}
		if err := s.ScanWeekAfter(t.Context(), weekFrom, weekTo, before, math.MaxInt64, opts, func(r store.SampleRow) error {
			out[r.ExternalID] = r
			return nil
		}); err != nil {
			t.Fatalf("ScanWeekAfter(%+v): %v", opts, err)
		}
		return out
	}
	late := after(store.ScanOptions{})
	if len(late) != 1 {
		t.Fatalf("ScanWeekAfter: %d rows, want key-late", len(late))
	}
	check("top-up scan, seed A", after(store.ScanOptions{KeySeed: seedA}), late, seedA)
}
