package sampler

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Tags, customer tiers, channels and attribute values are compared
// folded: case-insensitively and width-insensitively, because platforms
// differ in how they write them ("VIP", "vip", full-width "ＶＩＰ" typed on a
// Chinese keyboard). Folding maps each rune to its canonical width
// (width.Fold: full-width ASCII to ASCII, half-width katakana to
// full-width) and then to its lower case of its upper case, which joins
// the simple case-folding orbits ("ſ", "s" and "S"; "K", "k" and the
// Kelvin sign).

// appendFolded appends the folded form of s to dst.
func appendFolded(dst []byte, s string) []byte {
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
		if f := width.LookupRune(r).Folded(); f != 0 {
			r = f
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(unicode.ToUpper(r)))
	}
	return dst
}

// isFoldedASCII reports whether s is lowercase ASCII, which folding leaves
// as it is: most tags and tiers are, and they need no copy.
func isFoldedASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// fold returns the folded form of s.
func fold(s string) string {
	if isFoldedASCII(s) {
		return s
	}
	return string(appendFolded(nil, s))
}

// folder folds one conversation's values into a buffer it reuses, so
// that matching allocates nothing per conversation.
type folder struct {
	buf []byte
}

// bytes returns the folded form of s, valid until the next call; use it
// as a map key or in a comparison, where Go does not copy it.
func (f *folder) bytes(s string) []byte {
	f.buf = appendFolded(f.buf[:0], s)
	return f.buf
}
