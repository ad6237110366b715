package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"qa-sampling/store"
)

// A sample block is one hour's sample rows (store.SampleRow without the
// ScanOptions extras) packed into bytes, kept in sample_blocks by SQLite
// (migration 00023, scanWeekBlocks). Reading a week as 168 blocks costs a
// fraction of reading a million index entries and splitting their text
// records; the keys under the week's seed come with them.
//
// Layout, all integers varints (signed ones zig-zag):
//
//	format byte, flags byte (blockKeyed)
//	dictionary: count, then each string as length and bytes
//	rows: count, then per row:
//	  external id as length and bytes
//	  agent count, then dictionary index each (AgentIDs, in order)
//	  channel, tier: dictionary index
//	  tag count, then dictionary index each
//	  csat, transfers, handle ms, ended_at ms minus the hour's start,
//	  messages, agent messages, customer messages: signed
//	  key: 8 bytes big-endian, when keyed
//
// Agent ids, channels, tiers and tags repeat across an hour's rows and are
// stored once, in the dictionary.
const blockFormat = 1

// blockKeyed marks a block whose rows carry their keys.
const blockKeyed = 1

// hourMS is the span of a block: one UTC hour of end times.
const hourMS = int64(time.Hour / time.Millisecond)

// blockEncoder packs rows of one hour into a block.
type blockEncoder struct {
	start int64 // the hour's first millisecond
	keyed bool
	dict  map[string]uint64
	words []string
	rows  int
	body  []byte
}

func newBlockEncoder(hour int64, keyed bool) *blockEncoder {
	return &blockEncoder{start: hour * hourMS, keyed: keyed, dict: make(map[string]uint64)}
}

func (e *blockEncoder) word(s string) {
	i, ok := e.dict[s]
	if !ok {
		i = uint64(len(e.words))
		e.dict[s] = i
		e.words = append(e.words, s)
	}
	e.body = binary.AppendUvarint(e.body, i)
}

// add appends r, whose key is key when the encoder is keyed.
func (e *blockEncoder) add(r *store.SampleRow, key uint64) {
	e.rows++
	e.body = binary.AppendUvarint(e.body, uint64(len(r.ExternalID)))
	e.body = append(e.body, r.ExternalID...)
	e.body = binary.AppendUvarint(e.body, uint64(len(r.AgentIDs)))
	for _, a := range r.AgentIDs {
		e.word(a)
	}
	e.word(r.Channel)
	e.word(r.CustomerTier)
	e.body = binary.AppendUvarint(e.body, uint64(len(r.Tags)))
	for _, t := range r.Tags {
		e.word(t)
	}
	for _, v := range [...]int64{
		int64(r.CSAT), int64(r.TransferCount), r.HandleTime.Milliseconds(), r.EndedAt.UnixMilli() - e.start,
		int64(r.MessageCount), int64(r.AgentMessageCount), int64(r.CustomerMessages),
	} {
		e.body = binary.AppendVarint(e.body, v)
	}
	if e.keyed {
		e.body = binary.BigEndian.AppendUint64(e.body, key)
	}
}

// bytes returns the block.
func (e *blockEncoder) bytes() []byte {
	n := 2 + binary.MaxVarintLen64*2 + len(e.body)
	for _, w := range e.words {
		n += binary.MaxVarintLen64 + len(w)
	}
	out := make([]byte, 0, n)
	flags := byte(0)
	if e.keyed {
		flags |= blockKeyed
	}
	out = append(out, blockFormat, flags)
	out = binary.AppendUvarint(out, uint64(len(e.words)))
	for _, w := range e.words {
		out = binary.AppendUvarint(out, uint64(len(w)))
		out = append(out, w...)
	}
	out = binary.AppendUvarint(out, uint64(e.rows))
	return append(out, e.body...)
}

// errBlock reports a block that cannot be decoded: the scan fails rather
// than drop a row.
var errBlock = errors.New("malformed sample block")

// blockDecoder reads a block. The rows' external ids are substrings of one
// copy of the block's bytes (a string per row was a tenth of the decoding
// and most of the garbage): a consumer keeping one keeps that copy, about
// 300 KB an hour. Dictionary strings are the block's, shared by its rows.
// A read past the end or out of the dictionary sets bad and reads zero,
// checked once a row.
type blockDecoder struct {
	text string // the block
	off  int    // where the next read starts
	bad  bool
	// start is the hour's first millisecond.
	start int64
	keyed bool
	// keys says whether rows get the block's keys: only when the scan
	// asked for keys under the seed they were computed with.
	keys  bool
	words []string
	// lone[i] is words[i:i+1], capped: the AgentIDs or tags of a row with
	// one, shared rather than carved (most rows have one agent).
	lone [][]string
	rows int
	// AgentIDs and tags of two or more are carved from shared slices,
	// each capped so that an append by the consumer copies (as rowBuilder
	// does).
	strs []string
}

func newBlockDecoder(hour int64, data []byte, keys bool) (*blockDecoder, error) {
	if len(data) < 2 || data[0] != blockFormat || data[1]&^blockKeyed != 0 {
		return nil, fmt.Errorf("%w: hour %d: unknown format", errBlock, hour)
	}
	d := &blockDecoder{text: string(data), off: 2, start: hour * hourMS, keyed: data[1]&blockKeyed != 0}
	d.keys = keys && d.keyed
	d.words = make([]string, d.count())
	d.lone = make([][]string, len(d.words))
	for i := range d.words {
		d.words[i] = d.str()
		d.lone[i] = d.words[i : i+1 : i+1]
	}
	d.rows = d.count()
	if d.bad {
		return nil, fmt.Errorf("hour %d: %w: bad header", hour, errBlock)
	}
	return d, nil
}

// uvarint reads an unsigned varint; most are one byte.
func (d *blockDecoder) uvarint() uint64 {
	if d.off < len(d.text) {
		if b := d.text[d.off]; b < 0x80 {
			d.off++
			return uint64(b)
		}
	}
	var v uint64
	for shift := uint(0); d.off < len(d.text); shift += 7 {
		b := d.text[d.off]
		d.off++
		if shift == 63 && b > 1 {
			break // overflows 64 bits
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
	d.bad = true
	return 0
}

// varint reads a zig-zag signed varint, as binary.AppendVarint writes.
func (d *blockDecoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a length, which cannot exceed the bytes left (every item
// takes at least one).
func (d *blockDecoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.text)-d.off) {
		d.bad = true
		return 0
	}
	return int(v)
}

func (d *blockDecoder) str() string {
	n := d.count()
	s := d.text[d.off : d.off+n]
	d.off += n
	return s
}

// index reads a dictionary index.
func (d *blockDecoder) index() int {
	i := d.uvarint()
	if i >= uint64(len(d.words)) {
		d.bad = true
		return 0
	}
	return int(i)
}

func (d *blockDecoder) word() string {
	if i := d.index(); !d.bad {
		return d.words[i]
	}
	return ""
}

// wordList reads a count and as many dictionary strings; nil when none.
func (d *blockDecoder) wordList() []string {
	switch n := d.count(); n {
	case 0:
		return nil
	case 1:
		if i := d.index(); !d.bad {
			return d.lone[i]
		}
		return nil
	default:
		if len(d.strs) < n {
			d.strs = make([]string, max(1024, n))
		}
		out := d.strs[0:n:n]
		d.strs = d.strs[n:]
		for i := range out {
			out[i] = d.word()
		}
		return out
	}
}

// next decodes the next row into r, reporting false for a malformed one.
func (d *blockDecoder) next(r *store.SampleRow) bool {
	*r = store.SampleRow{
		ExternalID:   d.str(),
		AgentIDs:     d.wordList(),
		Channel:      d.word(),
		CustomerTier: d.word(),
		Tags:         d.wordList(),
	}
	r.CSAT, r.TransferCount = int(d.varint()), int(d.varint())
	r.HandleTime = time.Duration(d.varint()) * time.Millisecond
	r.EndedAt = fromMillis(d.start + d.varint())
	r.MessageCount, r.AgentMessageCount, r.CustomerMessages = int(d.varint()), int(d.varint()), int(d.varint())
	if d.keyed {
		if len(d.text)-d.off < 8 {
			return false
		}
		if d.keys {
			r.Key, r.Keyed = binary.BigEndian.Uint64([]byte(d.text[d.off:d.off+8])), true
		}
		d.off += 8
	}
	return !d.bad
}

// each decodes every row of the block to fn and returns fn's first error
// as it is; the block must hold exactly its count of rows.
func (d *blockDecoder) each(fn func(store.SampleRow) error) error {
	var r store.SampleRow
	for range d.rows {
		if !d.next(&r) {
			return fmt.Errorf("hour %d: %w", d.start/hourMS, errBlock)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if d.off != len(d.text) {
		return fmt.Errorf("hour %d: %w: bytes after the last row", d.start/hourMS, errBlock)
	}
	return nil
}
