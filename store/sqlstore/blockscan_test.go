package sqlstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/sampler"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// weekHours is how many whole UTC hours benchWeek has: a block each.
const weekHours = 7 * 24

// blockCount is what Store.BlockStats counts.
type blockCount struct{ read, built, written int64 }

func blockCountOf(s *Store) blockCount {
	r, b, w := s.BlockStats()
	return blockCount{r, b, w}
}

func (c blockCount) minus(o blockCount) blockCount {
	return blockCount{c.read - o.read, c.built - o.built, c.written - o.written}
}

// hourOf is the block hour of an end time.
func hourOf(at time.Time) int64 { return at.UnixMilli() / hourMS }

// blockWorld is a store holding a week of chats (benchWeek) for the block
// scan's tests, and the transcripts it was given by external id.
type blockWorld struct {
	s     *Store
	chats map[string]transcript.Transcript
}

// newBlockWorld pushes about 2,000 chats over benchWeek: every five
// minutes or so, some on an hour's first and last millisecond, none in
// hours 30 to 35; transfers (some the owner took no part in), tags in
// several scripts or none, with and without CSAT.
func newBlockWorld(t *testing.T) *blockWorld {
	t.Helper()
	s := newSQLite(t)
	ctx := t.Context()
	agents := []string{"a0", "a1", "a2", "a3"}
	if err := s.EnsureAgents(ctx, agents); err != nil {
		t.Fatal(err)
	}
	w := &blockWorld{s: s, chats: map[string]transcript.Transcript{}}
	rng := rand.New(rand.NewPCG(7, 8))
	var batch []*transcript.Prepared
	for i := range 2100 {
		end := benchWeek.Add(time.Duration(i) * 293 * time.Second)
		switch i % 40 {
		case 0:
			end = end.Truncate(time.Hour)
		case 1:
			end = end.Truncate(time.Hour).Add(time.Hour - time.Millisecond)
		}
		if h := end.Sub(benchWeek) / time.Hour; h >= 30 && h < 36 || !end.Before(benchWeek.AddDate(0, 0, 7)) {
			continue
		}
		tr := synth.Transcript(rng, i, agents[i%len(agents)], end)
		tr.ExternalID = fmt.Sprintf("b-%04d", i)
		switch {
		case i%11 == 0: // handed over: the owner wrote nothing
			for k := range tr.Messages {
				if tr.Messages[k].Role == transcript.RoleAgent {
					tr.Messages[k].AgentID = agents[(i+2)%len(agents)]
				}
			}
			tr.TransferCount = 1
		case i%7 == 0:
			tr.AgentID = agents[(i+1)%len(agents)]
			synth.Transfer(&tr, agents[i%len(agents)])
		}
		switch i % 4 {
		case 0:
			tr.Tags = nil
		case 1:
			tr.Tags = append(tr.Tags, "投诉", "退款")
		case 2:
			tr.Tags = append(tr.Tags, "VIP")
		}
		if i%5 == 0 {
			tr.CSAT = 0
		}
		w.chats[tr.ExternalID] = tr
		batch = append(batch, s.Codec().Prepare(tr))
	}
	if _, err := s.UpsertTranscripts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	return w
}

// push upserts trs and checks their outcomes.
func (w *blockWorld) push(t *testing.T, want store.Outcome, trs ...transcript.Transcript) {
	t.Helper()
	var batch []*transcript.Prepared
	for _, tr := range trs {
		batch = append(batch, w.s.Codec().Prepare(tr))
	}
	out, err := w.s.UpsertTranscripts(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o != want {
			t.Fatalf("push of %s: %v, want %v", trs[i].ExternalID, o, want)
		}
		if want == store.Created || want == store.Updated {
			w.chats[trs[i].ExternalID] = trs[i]
		}
	}
}

// chatIn returns the id of a chat of the world that ended in hour h of
// benchWeek, not among skip.
func (w *blockWorld) chatIn(t *testing.T, h int, skip ...string) string {
	t.Helper()
	var ids []string
	for id, tr := range w.chats {
		if hourOf(tr.EndedAt) == hourOf(benchWeek)+int64(h) && !slices.Contains(skip, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no chat in hour %d", h)
	}
	slices.Sort(ids)
	return ids[len(ids)/2]
}

// moved is tr ending at end, its other times shifted alike.
func moved(tr transcript.Transcript, end time.Time) transcript.Transcript {
	d := end.Sub(tr.EndedAt)
	tr.StartedAt, tr.EndedAt = tr.StartedAt.Add(d), tr.EndedAt.Add(d)
	tr.Messages = slices.Clone(tr.Messages)
	for i := range tr.Messages {
		tr.Messages[i].SentAt = tr.Messages[i].SentAt.Add(d)
	}
	return tr
}

// sortedRows collects what scan hands over, by external id.
func sortedRows(t *testing.T, scan func(fn func(store.SampleRow) error) error) []store.SampleRow {
	t.Helper()
	var out []store.SampleRow
	if err := scan(func(r store.SampleRow) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b store.SampleRow) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return out
}

// indexRows are the rows of [from, to) read off the sampling index as
// before blocks (scanWeekChunks).
func indexRows(t *testing.T, s *Store, from, to time.Time) []store.SampleRow {
	t.Helper()
	return sortedRows(t, func(fn func(store.SampleRow) error) error { return s.scanWeekChunks(t.Context(), from, to, fn) })
}

// scanRows are ScanWeek's rows of [from, to) with plain options and seed,
// and what the scan did with blocks.
func scanRows(t *testing.T, s *Store, from, to time.Time, seed string) ([]store.SampleRow, blockCount) {
	t.Helper()
	before := blockCountOf(s)
	rows := sortedRows(t, func(fn func(store.SampleRow) error) error {
		return s.ScanWeek(t.Context(), from, to, store.ScanOptions{KeySeed: seed}, fn)
	})
	return rows, blockCountOf(s).minus(before)
}

// withoutKeys is rows with their keys dropped.
func withoutKeys(rows []store.SampleRow) []store.SampleRow {
	out := slices.Clone(rows)
	for i := range out {
		out[i].Key, out[i].Keyed = 0, false
	}
	return out
}

// sameRows reports the first difference between got and want, field by
// field, or "".
func sameRows(got, want []store.SampleRow) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Sprintf("%d rows, want %d; first difference:\n got %+v\nwant %+v", len(got), len(want), got[i], want[i])
		}
	}
	return fmt.Sprintf("%d rows, want %d", len(got), len(want))
}

// staleHours are the hours of [first, last) without a block valid now:
// none stored, or stored at another change count than the hour's.
func staleHours(t *testing.T, s *Store, first, last int64) []int64 {
	t.Helper()
	var valid []int64
	if err := s.r.SelectContext(t.Context(), &valid, `SELECT b.hour FROM sample_blocks b
		WHERE b.hour >= ? AND b.hour < ? AND b.version = coalesce((SELECT n FROM sample_hour_changes c WHERE c.hour = b.hour), 0)`,
		first, last); err != nil {
		t.Fatal(err)
	}
	var out []int64
	for h := first; h < last; h++ {
		if !slices.Contains(valid, h) {
			out = append(out, h)
		}
	}
	return out
}

// weekHour is the block hour of benchWeek's hour h.
func weekHour(h int) int64 { return hourOf(benchWeek) + int64(h) }

// checkBlockScans checks that exactly the hours stale (of benchWeek) have
// no valid block; that the next scan of the week rebuilds those, reads
// the others' blocks and stores what it built; that the scan after reads
// every hour from its block; and that both return the index's rows, field
// for field.
func checkBlockScans(t *testing.T, s *Store, step string, stale ...int64) {
	t.Helper()
	from, to := benchWeek, benchWeek.AddDate(0, 0, 7)
	slices.Sort(stale)
	if got := staleHours(t, s, hourOf(from), hourOf(to)); !slices.Equal(got, stale) {
		t.Errorf("%s: hours without a valid block %v, want %v", step, got, stale)
	}
	want := indexRows(t, s, from, to)
	if len(want) < 1000 {
		t.Fatalf("%s: the index holds %d rows of the week", step, len(want))
	}
	n := int64(len(stale))
	rows, did := scanRows(t, s, from, to, "")
	if d := sameRows(rows, want); d != "" {
		t.Errorf("%s: the scan that rebuilt %d hours: %s", step, did.built, d)
	}
	if did != (blockCount{read: weekHours - n, built: n, written: n}) {
		t.Errorf("%s: the first scan read %d blocks, built %d, stored %d; want %d read, %d built and stored",
			step, did.read, did.built, did.written, weekHours-n, n)
	}
	rows, did = scanRows(t, s, from, to, "")
	if d := sameRows(rows, want); d != "" {
		t.Errorf("%s: the scan from blocks: %s", step, d)
	}
	if did != (blockCount{read: weekHours}) {
		t.Errorf("%s: the second scan read %d blocks, built %d, stored %d; want every hour read", step, did.read, did.built, did.written)
	}
}

// TestScanWeekBlocksFollowEveryWrite: a first scan builds and stores a
// block per hour of the week, the next reads them, both returning the
// index's rows. Each write that changes a chat's sample record (a new
// chat, a changed one, one moved to another hour, retention's deletes,
// the owner_wrote backfill) invalidates exactly the hours it touched: the
// next scan rebuilds those alone and again returns the index's rows.
// Writes that leave the record as it was (a push of the same content, a
// frozen chat's push, marking sampled, a run's picks, a check re-run's
// flags) leave every block valid.
func TestScanWeekBlocksFollowEveryWrite(t *testing.T) {
	w := newBlockWorld(t)
	s, ctx := w.s, t.Context()
	all := make([]int64, weekHours)
	for i := range all {
		all[i] = weekHour(i)
	}
	checkBlockScans(t, s, "first scan", all...)

	// New chats: one into an hour without any, one into an hour with some.
	fresh1 := synth.Transcript(rand.New(rand.NewPCG(1, 1)), 1, "a1", benchWeek.Add(31*time.Hour+20*time.Minute))
	fresh1.ExternalID = "fresh-1"
	fresh2 := synth.Transcript(rand.New(rand.NewPCG(1, 2)), 2, "a2", benchWeek.Add(50*time.Hour+time.Minute))
	fresh2.ExternalID = "fresh-2"
	fresh2.Tags = []string{"新标签"}
	w.push(t, store.Created, fresh1, fresh2)
	checkBlockScans(t, s, "new chats", weekHour(31), weekHour(50))

	// A chat pushed again with another tag, CSAT and channel.
	id := w.chatIn(t, 20)
	changed := w.chats[id]
	changed.Tags = append(slices.Clone(changed.Tags), "改过")
	changed.CSAT = changed.CSAT%5 + 1
	changed.Channel = "changed-channel"
	w.push(t, store.Updated, changed)
	checkBlockScans(t, s, "changed chat", weekHour(20))
	// Its CSAT alone, to none.
	changed.CSAT = 0
	w.push(t, store.Updated, changed)
	checkBlockScans(t, s, "CSAT removed", weekHour(20))

	// A chat moved to another hour: both hours.
	id = w.chatIn(t, 60)
	w.push(t, store.Updated, moved(w.chats[id], benchWeek.Add(100*time.Hour+7*time.Minute)))
	checkBlockScans(t, s, "moved chat", weekHour(60), weekHour(100))
	// And out of the week: its hour, and one outside the week.
	id = w.chatIn(t, 61)
	w.push(t, store.Updated, moved(w.chats[id], benchWeek.AddDate(0, 0, 9)))
	checkBlockScans(t, s, "chat moved out of the week", weekHour(61))

	// The same content again changes nothing.
	w.push(t, store.Unchanged, w.chats[w.chatIn(t, 70)], w.chats[w.chatIn(t, 71)])
	checkBlockScans(t, s, "the same content pushed again")

	// Retention deletes the unsampled chats of the first hour and a half,
	// but for one picked by a run (below, so that it is frozen first).
	spared := w.chatIn(t, 0)
	run, _, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("seed"), Trigger: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	var picks []store.Pick
	for i, id := range []string{spared, w.chatIn(t, 90), w.chatIn(t, 91)} {
		picks = append(picks, store.Pick{ExternalID: id, AgentID: w.chats[id].AgentID, Reason: "random", Rank: i + 1,
			Key: uint64(i + 1), Status: store.PickPool})
	}
	if _, err := s.CompleteRun(ctx, run.ID, picks, 0); err != nil {
		t.Fatal(err)
	}
	checkBlockScans(t, s, "a run's picks")
	if err := s.MarkSampled(ctx, []string{w.chatIn(t, 80), w.chatIn(t, 81), spared}); err != nil {
		t.Fatal(err)
	}
	checkBlockScans(t, s, "marked sampled")
	frozen := w.chats[w.chatIn(t, 80)]
	frozen.Tags = append(slices.Clone(frozen.Tags), "too late")
	w.push(t, store.KeptSampled, frozen)
	checkBlockScans(t, s, "a frozen chat pushed again")

	batch, err := s.DeleteUnsampledTranscripts(ctx, store.RetentionCursor{}, benchWeek.Add(90*time.Minute), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if batch.Removed < 10 || batch.Removed != batch.Examined-1 {
		t.Fatalf("retention removed %d of %d chats; want all but the picked one", batch.Removed, batch.Examined)
	}
	// The blocks of the hours it deleted from, the cut-off's hour too, are
	// gone with the chats (they held their sampled fields).
	var kept int
	if err := s.r.GetContext(ctx, &kept, "SELECT count(*) FROM sample_blocks WHERE hour <= ?", weekHour(1)); err != nil || kept != 0 {
		t.Fatalf("%d blocks of the deleted hours kept (%v)", kept, err)
	}
	checkBlockScans(t, s, "retention", weekHour(0), weekHour(1))
	if _, err := s.GetTranscript(ctx, spared); err != nil {
		t.Fatalf("the picked chat: %v", err)
	}

	// A check re-run that changes flags of chats of several hours.
	v, err := s.AddCheckSetVersion(ctx, []byte(`{}`), "lead")
	if err != nil {
		t.Fatal(err)
	}
	lease := store.RerunLease{Owner: "r1", At: time.Now(), Until: time.Now().Add(time.Minute)}
	from, to := benchWeek.Add(110*time.Hour), benchWeek.Add(113*time.Hour)
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: from, To: to, CheckVersion: v.Version, CreatedBy: "lead",
		Owner: lease.Owner, LeaseUntil: lease.Until})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.RecheckIDs(ctx, from, to, 0)
	if err != nil || len(ids) < 10 {
		t.Fatalf("RecheckIDs = %d ids, %v", len(ids), err)
	}
	targets, err := s.RecheckTargets(ctx, from, to, ids[0], ids[len(ids)-1])
	if err != nil || len(targets) != len(ids) {
		t.Fatalf("RecheckTargets = %d, %v", len(targets), err)
	}
	var results []store.RecheckResult
	for _, tg := range targets {
		results = append(results, store.RecheckResult{ID: tg.ID, Revision: tg.Revision, Checks: transcript.Checks{Version: v.Version, Flags: 0b101}})
	}
	done, err := s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: lease, Results: results, Cursor: ids[len(ids)-1], Finish: true})
	if err != nil || done.Changed == 0 {
		t.Fatalf("SaveRecheck = %+v, %v; want flags changed", done, err)
	}
	checkBlockScans(t, s, "check re-run")

	// The owner_wrote backfill (after an upgrade from before 00008): a
	// handed-over chat stored as if the owner had written, then set
	// right by the backfill.
	handed, handedHour := "", int64(0)
	for h := 120; h < 160 && handed == ""; h++ {
		for id, tr := range w.chats {
			if hourOf(tr.EndedAt) == weekHour(h) && !transcript.OwnerWrote(&tr) && (handed == "" || id < handed) {
				handed, handedHour = id, weekHour(h)
			}
		}
	}
	if handed == "" {
		t.Fatal("no handed-over chat in hours 120 to 160")
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE transcripts SET owner_wrote = 1 WHERE external_id = ?", handed); err != nil {
		t.Fatal(err)
	}
	checkBlockScans(t, s, "owner_wrote as before 00008", handedHour)
	owner := w.chats[handed].AgentID
	countsForOwner := func() bool {
		t.Helper()
		rows, _ := scanRows(t, s, benchWeek, benchWeek.AddDate(0, 0, 7), "")
		i := slices.IndexFunc(rows, func(r store.SampleRow) bool { return r.ExternalID == handed })
		return i >= 0 && slices.Contains(rows[i].AgentIDs, owner)
	}
	if !countsForOwner() {
		t.Fatalf("%s does not count for its owner before the backfill", handed)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO owner_wrote_pending (transcript_id) SELECT id FROM transcripts WHERE external_id = ?", handed); err != nil {
		t.Fatal(err)
	}
	if err := s.backfillOwnerWrote(ctx); err != nil {
		t.Fatal(err)
	}
	checkBlockScans(t, s, "owner_wrote backfill", handedHour)
	if countsForOwner() {
		t.Errorf("%s counts for its owner after the backfill", handed)
	}
}

// TestScanWeekBlocksKeys: a scan with a seed returns rows keyed under that
// seed (sampler.Key), from blocks keyed under it or built as it reads;
// blocks of another seed are rebuilt, never served, and a scan without
// a seed returns unkeyed rows even from keyed blocks. An hour rebuilt
// without a seed is rebuilt again for a seeded scan.
func TestScanWeekBlocksKeys(t *testing.T) {
	w := newBlockWorld(t)
	s := w.s
	from, to := benchWeek, benchWeek.AddDate(0, 0, 7)
	want := indexRows(t, s, from, to)
	seedA, seedB := "seed A: 0123456789abcdef", "seed B: fedcba9876543210"
	keyedUnder := func(step, seed string, rows []store.SampleRow) {
		t.Helper()
		if d := sameRows(withoutKeys(rows), want); d != "" {
			t.Errorf("%s: %s", step, d)
		}
		for _, r := range rows {
			if !r.Keyed {
				t.Errorf("%s: row %s not keyed", step, r.ExternalID)
				return
			}
			if k := sampler.Key([]byte(seed), r.ExternalID); r.Key != k {
				t.Errorf("%s: row %s keyed %x, want %x under %q", step, r.ExternalID, r.Key, k, seed)
				return
			}
		}
	}
	unkeyed := func(step string, rows []store.SampleRow) {
		t.Helper()
		if d := sameRows(rows, want); d != "" {
			t.Errorf("%s: %s", step, d)
		}
	}
	for _, c := range []struct {
		step, seed string
		did        blockCount
	}{
		{"A, first", seedA, blockCount{built: weekHours, written: weekHours}},
		{"A, from blocks", seedA, blockCount{read: weekHours}},
		{"B after A", seedB, blockCount{built: weekHours, written: weekHours}},
		{"B, from blocks", seedB, blockCount{read: weekHours}},
		{"A after B", seedA, blockCount{built: weekHours, written: weekHours}},
		{"no seed after A", "", blockCount{read: weekHours}},
		{"no seed again", "", blockCount{read: weekHours}},
		{"A after a scan without seed", seedA, blockCount{read: weekHours}},
	} {
		rows, did := scanRows(t, s, from, to, c.seed)
		if did != c.did {
			t.Errorf("%s: read %d blocks, built %d, stored %d; want %+v", c.step, did.read, did.built, did.written, c.did)
		}
		if c.seed == "" {
			unkeyed(c.step, rows)
		} else {
			keyedUnder(c.step, c.seed, rows)
		}
	}

	// A change, seen first by a scan without a seed: its hour's block is
	// rebuilt unkeyed, which serves neither A nor B.
	id := w.chatIn(t, 40)
	tr := w.chats[id]
	tr.Tags = []string{"再改"}
	w.push(t, store.Updated, tr)
	want = indexRows(t, s, from, to)
	rows, did := scanRows(t, s, from, to, "")
	unkeyed("no seed after a change", rows)
	if did != (blockCount{read: weekHours - 1, built: 1, written: 1}) {
		t.Errorf("no seed after a change: %+v, want one hour rebuilt", did)
	}
	rows, did = scanRows(t, s, from, to, seedB)
	keyedUnder("B after an unkeyed rebuild", seedB, rows)
	if did != (blockCount{built: weekHours, written: weekHours}) {
		t.Errorf("B after an unkeyed rebuild: %+v, want every hour rebuilt", did)
	}
	rows, did = scanRows(t, s, from, to, seedA)
	keyedUnder("A after B", seedA, rows)
	if did.built != weekHours {
		t.Errorf("A after B: %+v, want every hour rebuilt", did)
	}
	// An unkeyed block does not serve a seeded scan.
	tr.Tags = []string{"第三次"}
	w.push(t, store.Updated, tr)
	want = indexRows(t, s, from, to)
	if _, did = scanRows(t, s, from, to, ""); did.built != 1 {
		t.Fatalf("no seed after a second change: %+v", did)
	}
	rows, did = scanRows(t, s, from, to, seedA)
	keyedUnder("A after an unkeyed rebuild of one hour", seedA, rows)
	if did != (blockCount{read: weekHours - 1, built: 1, written: 1}) {
		t.Errorf("A after an unkeyed rebuild of one hour: %+v, want that hour rebuilt", did)
	}
}

// TestScanWeekBlocksEdges: a range that does not start or end on a UTC
// hour (a week in a zone with a half-hour offset, or a part of one) reads
// its whole hours from blocks and the partial ones from the index, and
// returns exactly the index's rows: none twice, none missing. Rows of
// whole hours are keyed under the seed; any keyed row has its seed's key.
func TestScanWeekBlocksEdges(t *testing.T) {
	w := newBlockWorld(t)
	s := w.s
	const seed = "edge seed 0123456789"
	h := func(hours, minutes int) time.Time {
		return benchWeek.Add(time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute)
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
		whole    int64 // whole hours in the range
	}{
		{"a week from half past", h(0, 30), h(168, 30), 167},
		{"a week from half past, again", h(0, 30), h(168, 30), 167},
		{"a week to half past", h(0, 0), h(167, 30), 167},
		{"a week from a millisecond before the hour", h(0, 0).Add(-time.Millisecond), h(168, 0).Add(time.Millisecond), 168},
		{"an edge at the last millisecond", h(1, 0).Add(-time.Millisecond), h(5, 0), 4},
		{"two hours and some", h(3, 10), h(5, 50), 1},
		{"inside an hour", h(7, 5), h(7, 55), 0},
		{"across one hour boundary", h(7, 5), h(8, 55), 0},
		{"an empty range", h(9, 30), h(9, 30), 0},
		{"whole hours", h(10, 0), h(12, 0), 2},
		{"around the empty hours", h(29, 45), h(36, 15), 6},
	} {
		want := indexRows(t, s, c.from, c.to)
		rows, did := scanRows(t, s, c.from, c.to, seed)
		if d := sameRows(withoutKeys(rows), want); d != "" {
			t.Errorf("%s [%s, %s): %s", c.name, c.from, c.to, d)
		}
		if did.read+did.built != c.whole {
			t.Errorf("%s: %d blocks read and %d built, want %d whole hours", c.name, did.read, did.built, c.whole)
		}
		for _, r := range rows {
			if r.Keyed {
				if r.Key != sampler.Key([]byte(seed), r.ExternalID) {
					t.Errorf("%s: %s keyed %x, not under the seed", c.name, r.ExternalID, r.Key)
				}
			}
			inWhole := !r.EndedAt.Before(c.from.Add(time.Hour-time.Millisecond).Truncate(time.Hour)) && r.EndedAt.Before(c.to.Truncate(time.Hour))
			if inWhole && c.whole > 0 && !r.Keyed {
				t.Errorf("%s: %s of a whole hour unkeyed", c.name, r.ExternalID)
			}
		}
		// Without a seed, from the blocks just made: the same rows, unkeyed.
		rows, _ = scanRows(t, s, c.from, c.to, "")
		if d := sameRows(rows, want); d != "" {
			t.Errorf("%s without a seed: %s", c.name, d)
		}
	}
}

// TestSampleHourTriggersCoverTheRecord: the trigger that bumps an hour's
// change count on an update lists every column of the sample record
// (sampleFields), so no write of one can leave a block valid; an update
// of each bumps the count, of the columns outside the record does not;
// inserts and deletes bump it too.
func TestSampleHourTriggersCoverTheRecord(t *testing.T) {
	s := newSQLite(t)
	ctx := t.Context()
	var record []string
	for _, f := range sampleFields {
		if rest, ok := strings.CutPrefix(f, "coalesce("); ok {
			f, _, _ = strings.Cut(rest, ",")
		}
		if !regexp.MustCompile(`^[a-z_]+$`).MatchString(f) {
			t.Fatalf("sampleFields entry %q: not a column", f)
		}
		record = append(record, f)
	}
	var ddl string
	if err := s.r.GetContext(ctx, &ddl, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'transcripts_hour_update'"); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?is)AFTER\s+UPDATE\s+OF\s+(.*?)\s+ON\s+transcripts\b`).FindStringSubmatch(ddl)
	if m == nil {
		t.Fatalf("no column list in the trigger:\n%s", ddl)
	}
	var listed []string
	for _, c := range strings.Split(m[1], ",") {
		listed = append(listed, strings.TrimSpace(c))
	}
	for _, f := range record {
		if !slices.Contains(listed, f) {
			t.Errorf("the update trigger does not list %s, a column of the sample record", f)
		}
	}
	for _, name := range []string{"transcripts_hour_insert", "transcripts_hour_delete"} {
		var n int
		if err := s.r.GetContext(ctx, &n, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ? AND tbl_name = 'transcripts'", name); err != nil || n != 1 {
			t.Errorf("trigger %s: %d, %v", name, n, err)
		}
	}

	if err := s.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	end := benchWeek.Add(3*time.Hour + 5*time.Minute)
	tr := synth.Transcript(rand.New(rand.NewPCG(1, 1)), 1, "a1", end)
	count := func() int64 {
		t.Helper()
		var n int64
		if err := s.r.GetContext(ctx, &n, "SELECT coalesce((SELECT n FROM sample_hour_changes WHERE hour = ?), 0)", hourOf(end)); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := s.UpsertTranscripts(ctx, []*transcript.Prepared{s.Codec().Prepare(tr)}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("after an insert the hour's count is %d, want 1", n)
	}
	for _, col := range record {
		before := count()
		if _, err := s.w.ExecContext(ctx, "UPDATE transcripts SET "+col+" = "+col+" WHERE external_id = ?", tr.ExternalID); err != nil {
			t.Fatal(err)
		}
		if count() <= before {
			t.Errorf("an update of %s left the hour's count at %d", col, before)
		}
	}
	for _, col := range []string{"sampled", "check_version", "check_flags", "check_hits", "body", "customer_id", "purged_at",
		"revision", "updated_at", "first_response_ms", "mean_response_ns", "content_hash"} {
		before := count()
		if _, err := s.w.ExecContext(ctx, "UPDATE transcripts SET "+col+" = "+col+" WHERE external_id = ?", tr.ExternalID); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != before {
			t.Errorf("an update of %s, outside the sample record, moved the hour's count from %d to %d", col, before, n)
		}
	}
	before := count()
	if _, err := s.w.ExecContext(ctx, "DELETE FROM transcripts WHERE external_id = ?", tr.ExternalID); err != nil {
		t.Fatal(err)
	}
	if count() <= before {
		t.Errorf("a delete left the hour's count at %d", before)
	}
}

// TestPackWeekReadiesTheScan: PackWeek builds the blocks a scan with its
// seed would otherwise build (missing, stale, or keyed under another
// seed) and only those, so that the scan after it reads blocks only and
// returns the index's rows keyed under the seed.
func TestPackWeekReadiesTheScan(t *testing.T) {
	w := newBlockWorld(t)
	s, ctx := w.s, t.Context()
	from, to := benchWeek, benchWeek.AddDate(0, 0, 7)
	const seedA, seedB = "pack seed A 0123456789", "pack seed B 0123456789"
	pack := func(step string, from, to time.Time, seed string, want int) {
		t.Helper()
		before := blockCountOf(s)
		n, err := s.PackWeek(ctx, from, to, seed)
		if err != nil {
			t.Fatalf("%s: PackWeek: %v", step, err)
		}
		did := blockCountOf(s).minus(before)
		if n != want || did != (blockCount{built: int64(want), written: int64(want)}) {
			t.Errorf("%s: PackWeek packed %d hours (built %d, stored %d, read %d); want %d", step, n, did.built, did.written, did.read, want)
		}
	}
	scanKeyed := func(step, seed string) {
		t.Helper()
		want := indexRows(t, s, from, to)
		rows, did := scanRows(t, s, from, to, seed)
		if did != (blockCount{read: weekHours}) {
			t.Errorf("%s: the scan read %d blocks and built %d; want the week's blocks only", step, did.read, did.built)
		}
		if d := sameRows(withoutKeys(rows), want); d != "" {
			t.Errorf("%s: %s", step, d)
		}
		for _, r := range rows {
			if !r.Keyed || r.Key != sampler.Key([]byte(seed), r.ExternalID) {
				t.Errorf("%s: %s keyed %v %x, want under %q", step, r.ExternalID, r.Keyed, r.Key, seed)
				break
			}
		}
	}
	pack("first", from, to, seedA, weekHours)
	scanKeyed("after the first pack", seedA)
	pack("again", from, to, seedA, 0)

	tr := w.chats[w.chatIn(t, 44)]
	tr.CSAT = tr.CSAT%5 + 1
	w.push(t, store.Updated, tr)
	pack("after a change", from, to, seedA, 1)
	scanKeyed("after a change and a pack", seedA)

	pack("another seed", from, to, seedB, weekHours)
	scanKeyed("another seed", seedB)
	pack("no seed: any valid block serves", from, to, "", 0)

	// Only whole hours: none of a range inside one hour, the whole ones
	// of a range from half past.
	pack("inside an hour", benchWeek.Add(10*time.Minute), benchWeek.Add(50*time.Minute), seedA, 0)
	pack("from half past", benchWeek.Add(30*time.Minute), benchWeek.Add(5*time.Hour+30*time.Minute), seedA, 4)
}

// TestBlocksKeepNoOldFields: what a block holds is what its hour holds.
// A re-push that drops a tag, and retention deleting a chat, delete the
// hour's block in the same transaction (the triggers), so the old tag or
// the deleted chat's fields are not left on disk in a block nobody reads;
// and a block built from a snapshot taken before such a change is not
// stored after it.
func TestBlocksKeepNoOldFields(t *testing.T) {
	w := newBlockWorld(t)
	s, ctx := w.s, t.Context()
	holding := func(needle string) int {
		t.Helper()
		var n int
		if err := s.r.GetContext(ctx, &n, "SELECT count(*) FROM sample_blocks WHERE instr(data, CAST(? AS BLOB)) > 0", needle); err != nil {
			t.Fatal(err)
		}
		return n
	}

	id := w.chatIn(t, 40)
	tagged := w.chats[id]
	tagged.Tags = append(slices.Clone(tagged.Tags), "secret-old-tag")
	w.push(t, store.Updated, tagged)
	scanRows(t, s, benchWeek, benchWeek.Add(weekHours*time.Hour), "")
	if holding("secret-old-tag") != 1 {
		t.Fatal("the tag is not in its hour's block: the test tests nothing")
	}
	tagged.Tags = tagged.Tags[:len(tagged.Tags)-1]
	w.push(t, store.Updated, tagged)
	if n := holding("secret-old-tag"); n != 0 {
		t.Fatalf("%d blocks keep the tag a re-push removed", n)
	}

	// A block built before retention deletes its chats is not stored after.
	hour := weekHour(3)
	victim := w.chatIn(t, 3)
	b, err := s.buildBlock(ctx, hour, nil, func(store.SampleRow) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if batch, err := s.DeleteUnsampledTranscripts(ctx, store.RetentionCursor{}, benchWeek.Add(4*time.Hour), 10_000); err != nil || batch.Removed == 0 {
		t.Fatalf("retention: %+v, %v", batch, err)
	}
	if err := s.storeBlocks(ctx, []byte{}, []builtBlock{b}); err != nil {
		t.Fatal(err)
	}
	if n := holding(victim); n != 0 {
		t.Fatalf("%d blocks keep chat %s, which retention deleted", n, victim)
	}
	var stored int
	if err := s.r.GetContext(ctx, &stored, "SELECT count(*) FROM sample_blocks WHERE hour <= ?", hour); err != nil || stored != 0 {
		t.Fatalf("%d blocks of the emptied hours (%v)", stored, err)
	}
}

// TestUnreadableBlocks: a block of another format (a newer binary's, or
// one a downgrade left) is not read: its hour comes from the index and is
// packed again. A block damaged past its header fails the scan that meets
// it, which deletes it, so that the next scan rebuilds the hour.
func TestUnreadableBlocks(t *testing.T) {
	w := newBlockWorld(t)
	s, ctx := w.s, t.Context()
	to := benchWeek.Add(weekHours * time.Hour)
	want := indexRows(t, s, benchWeek, to)
	scanRows(t, s, benchWeek, to, "")

	if _, err := s.w.ExecContext(ctx, "UPDATE sample_blocks SET data = CAST(X'09' || substr(data, 2) AS BLOB) WHERE hour = ?", weekHour(10)); err != nil {
		t.Fatal(err)
	}
	got, did := scanRows(t, s, benchWeek, to, "")
	if diff := sameRows(got, want); diff != "" || did.built != 1 || did.read != weekHours-1 {
		t.Fatalf("with a block of another format: %s; %+v, want the one hour built", diff, did)
	}

	if _, err := s.w.ExecContext(ctx, "UPDATE sample_blocks SET data = CAST(substr(data, 1, length(data) - 3) AS BLOB) WHERE hour = ?", weekHour(12)); err != nil {
		t.Fatal(err)
	}
	err := s.ScanWeek(ctx, benchWeek, to, store.ScanOptions{}, func(store.SampleRow) error { return nil })
	if !errors.Is(err, errBlock) {
		t.Fatalf("a scan over a damaged block: %v, want errBlock", err)
	}
	got, did = scanRows(t, s, benchWeek, to, "")
	if diff := sameRows(got, want); diff != "" || did.built != 1 {
		t.Fatalf("after the damaged block: %s; %+v, want its hour rebuilt", diff, did)
	}
}
