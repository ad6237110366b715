package checks

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/longbridgeapp/opencc"
	"golang.org/x/text/width"
)

// Text and phrases are compared normalised: traditional characters as
// simplified ones, full-width forms as their ASCII (and half-width
// katakana as full-width), and case folded. Every rune maps to exactly
// one rune, so the n-th rune of the normalised text is the n-th rune of
// the original, and a match is located in the original by counting runes.

// CJK ranges whose characters the traditional→simplified table covers:
// Extension A and the Unified Ideographs (every character of the
// conversion dictionary's single-character entries lies in them, and the
// compatibility ideographs).
const (
	cjkFirst   = 0x3400
	cjkLast    = 0x9FFF
	compatLow  = 0xF900
	compatHigh = 0xFAFF
)

var (
	simplifiedOnce sync.Once
	// simplified[r-cjkFirst] is the simplified form of r, or 0 when r is
	// its own; compatSimplified the same for the compatibility block.
	simplified       []rune
	compatSimplified []rune
)

// loadSimplified builds the rune table from OpenCC's t2s conversion, one
// character at a time (about 15 ms, once per process). Converting whole
// messages with OpenCC instead would segment them into phrases and
// allocate per rune, far too slow for every message at ingest; phrase-
// level conversions (乾淨 → 干净) are mostly what single characters give
// anyway, and both sides of a match go through the same table.
func loadSimplified() {
	simplified = make([]rune, cjkLast-cjkFirst+1)
	compatSimplified = make([]rune, compatHigh-compatLow+1)
	cc, err := opencc.New("t2s")
	if err != nil {
		// The dictionaries are embedded in the library: this cannot fail
		// short of a broken build, and matching then only misses the
		// traditional forms.
		return
	}
	fill := func(table []rune, first rune) {
		for i := range table {
			r := first + rune(i)
			s, err := cc.Convert(string(r))
			if err != nil {
				continue
			}
			if to, size := utf8.DecodeRuneInString(s); size == len(s) && to != r && to != utf8.RuneError {
				table[i] = to
			}
		}
	}
	fill(simplified, cjkFirst)
	fill(compatSimplified, compatLow)
}

// normalRune is the normalised form of one rune.
func normalRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r >= cjkFirst && r <= cjkLast:
		if s := simplified[r-cjkFirst]; s != 0 {
			return s
		}
		return r
	case r >= compatLow && r <= compatHigh:
		if s := compatSimplified[r-compatLow]; s != 0 {
			return s
		}
		return r
	}
	if f := width.LookupRune(r).Folded(); f != 0 {
		r = f
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// appendNormal appends the normalised form of s to dst.
func appendNormal(dst []byte, s string) []byte {
	simplifiedOnce.Do(loadSimplified)
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		dst = utf8.AppendRune(dst, normalRune(r))
	}
	return dst
}

// Normalize returns s as matching sees it: simplified characters,
// half-width ASCII, lower case.
func Normalize(s string) string {
	return string(appendNormal(nil, s))
}

// originalSpan returns the part of original that normalises to
// normal[start:end], where normal is appendNormal of original.
func originalSpan(original string, normal []byte, start, end int) string {
	skip := utf8.RuneCount(normal[:start])
	n := utf8.RuneCount(normal[start:end])
	i := 0
	for ; skip > 0 && i < len(original); skip-- {
		_, size := utf8.DecodeRuneInString(original[i:])
		i += size
	}
	j := i
	for ; n > 0 && j < len(original); n-- {
		_, size := utf8.DecodeRuneInString(original[j:])
		j += size
	}
	return original[i:j]
}
