package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"qa-sampling/store"
)

// blockTestHour is the hour of the blocks these tests make: 2026-11-16
// 05:00 UTC.
var blockTestHour = benchWeek.Add(5*time.Hour).UnixMilli() / hourMS

// blockTestRows are rows of blockTestHour as the scan makes them: UTC end
// times in milliseconds, nil for no tags, varied enough to use every part
// of the format.
func blockTestRows() []store.SampleRow {
	start := blockTestHour * hourMS
	at := func(ms int64) time.Time { return fromMillis(start + ms) }
	return []store.SampleRow{
		{ExternalID: "c-1", AgentIDs: []string{"a1"}, Channel: "web", CustomerTier: "gold", Tags: []string{"shipping", "delay"},
			CSAT: 4, TransferCount: 0, HandleTime: 754_321 * time.Millisecond, EndedAt: at(0),
			MessageCount: 7, AgentMessageCount: 2, CustomerMessages: 3},
		// A transfer counting for three agents, one of them repeated from
		// the row before (the dictionary), Chinese tags, no CSAT.
		{ExternalID: "会话-2", AgentIDs: []string{"a2", "a1", "第三位"}, Channel: "微信", CustomerTier: "", Tags: []string{"投诉", "退款", "VIP"},
			CSAT: 0, TransferCount: 2, HandleTime: 0, EndedAt: at(hourMS - 1),
			MessageCount: 30, AgentMessageCount: 12, CustomerMessages: 15},
		// No tags; a tag that is the empty string; odd ids.
		{ExternalID: "", AgentIDs: []string{"a1"}, Channel: "", CustomerTier: "gold", Tags: nil,
			CSAT: 1, TransferCount: 0, HandleTime: time.Millisecond, EndedAt: at(1),
			MessageCount: 0, AgentMessageCount: 0, CustomerMessages: 0},
		{ExternalID: "quote\"d\x00\xff", AgentIDs: []string{""}, Channel: "web", CustomerTier: "vip", Tags: []string{""},
			CSAT: 5, TransferCount: 1, HandleTime: 48 * time.Hour, EndedAt: at(1_800_000),
			MessageCount: 1 << 40, AgentMessageCount: math.MaxInt32, CustomerMessages: 1},
		// Negative numbers survive (zig-zag), though no chat has them.
		{ExternalID: "neg", AgentIDs: []string{"a3"}, Channel: "web", CustomerTier: "gold", Tags: []string{"delay"},
			CSAT: -1, TransferCount: -2, HandleTime: -3 * time.Millisecond, EndedAt: at(59 * 60_000),
			MessageCount: -4, AgentMessageCount: -5, CustomerMessages: -6},
	}
}

// encodeBlock packs rows into a block of hour, with keys[i] for row i
// when keys is not nil.
func encodeBlock(hour int64, rows []store.SampleRow, keys []uint64) []byte {
	e := newBlockEncoder(hour, keys != nil)
	for i := range rows {
		var k uint64
		if keys != nil {
			k = keys[i]
		}
		e.add(&rows[i], k)
	}
	return e.bytes()
}

// decodeBlock decodes every row of a block, turning a panic into an
// error that says so.
func decodeBlock(hour int64, data []byte, keys bool) (rows []store.SampleRow, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			rows = nil
		}
	}()
	d, err := newBlockDecoder(hour, data, keys)
	if err != nil {
		return nil, err
	}
	err = d.each(func(r store.SampleRow) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

func withKeys(rows []store.SampleRow, keys []uint64) []store.SampleRow {
	out := make([]store.SampleRow, len(rows))
	for i, r := range rows {
		r.Key, r.Keyed = keys[i], true
		out[i] = r
	}
	return out
}

// TestSampleBlockRoundTrip: a block gives back its rows, every field, in
// order; a keyed block their keys, unless the scan asked for none (then
// the rows are unkeyed, as from the index); an unkeyed block never keys a
// row. An empty hour is a block of no rows.
func TestSampleBlockRoundTrip(t *testing.T) {
	rows := blockTestRows()
	keys := []uint64{0, 1, math.MaxUint64, 0x0123456789abcdef, 1 << 63}
	cases := []struct {
		name    string
		keyed   bool
		askKeys bool
		want    []store.SampleRow
	}{
		{"unkeyed block, keys asked", false, true, rows},
		{"unkeyed block, no keys asked", false, false, rows},
		{"keyed block, keys asked", true, true, withKeys(rows, keys)},
		{"keyed block, no keys asked", true, false, rows},
	}
	for _, c := range cases {
		var k []uint64
		if c.keyed {
			k = keys
		}
		data := encodeBlock(blockTestHour, rows, k)
		got, err := decodeBlock(blockTestHour, data, c.askKeys)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", c.name, got, c.want)
		}
	}
	for _, keyed := range []bool{false, true} {
		data := newBlockEncoder(blockTestHour, keyed).bytes()
		if got, err := decodeBlock(blockTestHour, data, true); err != nil || len(got) != 0 {
			t.Errorf("empty block (keyed %v): %d rows, %v", keyed, len(got), err)
		}
	}
	// One row a block, each alone (the dictionary holds only its words).
	for i := range rows {
		one := rows[i : i+1]
		got, err := decodeBlock(blockTestHour, encodeBlock(blockTestHour, one, []uint64{keys[i]}), true)
		if err != nil || !reflect.DeepEqual(got, withKeys(one, keys[i:i+1])) {
			t.Errorf("row %d alone: %+v, %v", i, got, err)
		}
	}
}

// TestSampleBlockRowsAreTheirOwn: a consumer may append to a row's
// AgentIDs and tags without changing another row's, as with the index's
// rows (storetest's ScanWeekSecondaryAuthors checks it through the store).
func TestSampleBlockRowsAreTheirOwn(t *testing.T) {
	rows := blockTestRows()
	d, err := newBlockDecoder(blockTestHour, encodeBlock(blockTestHour, rows, nil), false)
	if err != nil {
		t.Fatal(err)
	}
	var kept []store.SampleRow
	if err := d.each(func(r store.SampleRow) error {
		r.AgentIDs = append(r.AgentIDs, "appended")
		r.Tags = append(r.Tags, "appended")
		kept = append(kept, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, r := range kept {
		want := append(append([]string(nil), rows[i].AgentIDs...), "appended")
		if !reflect.DeepEqual(r.AgentIDs, want) {
			t.Errorf("row %d AgentIDs = %q, want %q", i, r.AgentIDs, want)
		}
		wantTags := append(append([]string(nil), rows[i].Tags...), "appended")
		if !reflect.DeepEqual(r.Tags, wantTags) {
			t.Errorf("row %d tags = %q, want %q", i, r.Tags, wantTags)
		}
	}
}

// TestSampleBlockStopsAtFnsError: each returns fn's error as it is.
func TestSampleBlockStopsAtFnsError(t *testing.T) {
	d, err := newBlockDecoder(blockTestHour, encodeBlock(blockTestHour, blockTestRows(), nil), false)
	if err != nil {
		t.Fatal(err)
	}
	stop, calls := errors.New("enough"), 0
	if err := d.each(func(store.SampleRow) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("each after fn failed = %v after %d calls; want fn's error after 1", err, calls)
	}
}

// TestSampleBlockMalformed: a block that is cut short, has bytes after
// its last row, an unknown format or flags, a dictionary index out of
// range or counts beyond its length is an error (errBlock), never a
// panic nor rows made up.
func TestSampleBlockMalformed(t *testing.T) {
	rows := blockTestRows()
	keys := []uint64{1, 2, 3, 4, 5}
	for _, keyed := range []bool{false, true} {
		var k []uint64
		if keyed {
			k = keys
		}
		valid := encodeBlock(blockTestHour, rows, k)
		for n := range len(valid) {
			if _, err := decodeBlock(blockTestHour, valid[:n], true); !errors.Is(err, errBlock) {
				t.Errorf("keyed %v: block cut to %d of %d bytes: %v, want errBlock", keyed, n, len(valid), err)
			}
		}
		for _, extra := range [][]byte{{0}, {1, 2, 3}, make([]byte, 8)} {
			if _, err := decodeBlock(blockTestHour, append(append([]byte(nil), valid...), extra...), true); !errors.Is(err, errBlock) {
				t.Errorf("keyed %v: %d bytes after the last row: %v, want errBlock", keyed, len(extra), err)
			}
		}
		for _, c := range []struct {
			name string
			at   int
			to   byte
		}{
			{"format 0", 0, 0}, {"format 2", 0, blockFormat + 1}, {"format 255", 0, 255},
			{"unknown flag", 1, 2}, {"unknown flag with keyed", 1, blockKeyed | 4}, {"all flags", 1, 255},
		} {
			b := append([]byte(nil), valid...)
			b[c.at] = c.to
			if _, err := decodeBlock(blockTestHour, b, true); !errors.Is(err, errBlock) {
				t.Errorf("keyed %v: %s: %v, want errBlock", keyed, c.name, err)
			}
		}
	}

	// Hand-made blocks: header, dictionary ["a"], one row.
	head := func(rows uint64) []byte {
		b := []byte{blockFormat, 0}
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, 1)
		b = append(b, 'a')
		return binary.AppendUvarint(b, rows)
	}
	tail := func(b []byte) []byte { // channel, tier, no tags, seven numbers
		b = binary.AppendUvarint(b, 0)
		b = binary.AppendUvarint(b, 0)
		b = binary.AppendUvarint(b, 0)
		for range 7 {
			b = binary.AppendVarint(b, 1)
		}
		return b
	}
	row := func(b []byte, agent uint64) []byte {
		b = binary.AppendUvarint(b, 2)
		b = append(b, "id"...)
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, agent)
		return tail(b)
	}
	if got, err := decodeBlock(blockTestHour, row(head(1), 0), false); err != nil || len(got) != 1 || got[0].AgentIDs[0] != "a" {
		t.Fatalf("the hand-made block is not valid: %+v, %v", got, err)
	}
	overlong := binary.AppendUvarint(nil, math.MaxUint64)
	huge := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0x01) // overflows 64 bits
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"agent index out of range", row(head(1), 1)},
		{"agent index far out of range", row(head(1), math.MaxUint64)},
		{"channel index out of range", func() []byte {
			b := binary.AppendUvarint(head(1), 2)
			b = append(b, "id"...)
			b = binary.AppendUvarint(b, 0)
			b = binary.AppendUvarint(b, 7) // channel
			return tail(b)
		}()},
		{"more rows than there are", row(head(2), 0)},
		{"a row count beyond the block", row(head(math.MaxUint32), 0)},
		{"fewer rows than there are", row(row(head(1), 0), 0)},
		{"a dictionary count beyond the block", append([]byte{blockFormat, 0}, overlong...)},
		{"a word longer than the block", append(append([]byte{blockFormat, 0, 1}, overlong...), 'a')},
		{"an external id longer than the block", append(head(1), overlong...)},
		{"an agent count beyond the block", append(binary.AppendUvarint(head(1), 0), overlong...)},
		{"a varint past 64 bits", append(append(binary.AppendUvarint(head(1), 0), 0, 0, 0, 0, 0), huge...)},
		{"a keyed row without its key", func() []byte {
			b := row(head(1), 0)
			b[1] = blockKeyed
			return append(b, 1, 2, 3, 4, 5, 6, 7)
		}()},
		{"nothing", nil},
		{"only the format", []byte{blockFormat}},
	} {
		if got, err := decodeBlock(blockTestHour, c.data, true); !errors.Is(err, errBlock) {
			t.Errorf("%s: %d rows, %v; want errBlock", c.name, len(got), err)
		}
	}
}

// FuzzBlockDecoder: whatever the bytes, decoding a block returns rows or
// an error, never panics; rows come keyed only from a keyed block and when
// asked; a block that decodes encodes back to one that decodes to the
// same rows (the encoder and decoder agree on every layout the decoder
// accepts).
func FuzzBlockDecoder(f *testing.F) {
	rows := blockTestRows()
	f.Add(encodeBlock(blockTestHour, rows, nil), true)
	f.Add(encodeBlock(blockTestHour, rows, []uint64{1, 2, 3, 4, 5}), true)
	f.Add(encodeBlock(blockTestHour, rows, []uint64{1, 2, 3, 4, 5}), false)
	f.Add(encodeBlock(blockTestHour, rows[1:2], nil), false)
	f.Add(newBlockEncoder(blockTestHour, true).bytes(), true)
	f.Add([]byte{blockFormat, 0, 1, 1, 'a', 1, 2, 'i', 'd', 1, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2}, true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, keys bool) {
		got, err := decodeBlock(blockTestHour, data, keys)
		if err != nil {
			if !errors.Is(err, errBlock) {
				t.Fatalf("decode: %v, want errBlock", err)
			}
			return
		}
		keyed := data[1]&blockKeyed != 0
		var k []uint64
		if keyed {
			k = make([]uint64, len(got))
		}
		for i, r := range got {
			if r.Keyed && (!keys || !keyed) {
				t.Fatalf("row %d keyed from a block with flags %x, keys asked %v", i, data[1], keys)
			}
			if keyed {
				k[i] = r.Key
			}
		}
		// Re-encoding: end times and handle times far out of range do not
		// survive time.Time and time.Duration; only in-range rows do.
		for _, r := range got {
			off := r.EndedAt.UnixMilli() - blockTestHour*hourMS
			if off < -1<<50 || off > 1<<50 || r.HandleTime%time.Millisecond != 0 ||
				r.HandleTime <= math.MinInt64/2 || r.HandleTime >= math.MaxInt64/2 {
				return
			}
		}
		again, err := decodeBlock(blockTestHour, encodeBlock(blockTestHour, got, k), keys)
		if err != nil {
			t.Fatalf("re-encoded block: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("re-encoded block: %d rows, want %d", len(again), len(got))
		}
		for i := range got {
			if !reflect.DeepEqual(again[i], got[i]) {
				t.Fatalf("re-encoded row %d: %+v, want %+v", i, again[i], got[i])
			}
		}
	})
}

// TestGroupedByAgent: every row once, each first agent's rows together in
// their own order, agents in the order of their first row.
func TestGroupedByAgent(t *testing.T) {
	agents := []string{"b", "a", "b", "", "c", "a", "b", "c"}
	rows := make([]store.SampleRow, len(agents))
	for i, a := range agents {
		if a != "" {
			rows[i].AgentIDs = []string{a, "x"}
		}
	}
	got := groupedByAgent(rows)
	want := []int32{0, 2, 6, 1, 5, 3, 4, 7}
	if !slices.Equal(got, want) {
		t.Fatalf("groupedByAgent = %v, want %v", got, want)
	}
	if len(groupedByAgent(nil)) != 0 {
		t.Fatal("rows from nothing")
	}
}
