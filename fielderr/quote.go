package fielderr

import (
	"strconv"
)

// QuotedRunes is how much of a bad value Quote shows.
const QuotedRunes = 32

// Quote quotes s for an error message: whole when short, otherwise its
// first QuotedRunes runes, "…" and its length in bytes. Every value a
// caller sent that an error message repeats goes through Quote.
func Quote(s string) string {
	n := 0
	for i := range s {
		if n == QuotedRunes {
			return strconv.Quote(s[:i]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
		}
		n++
	}
	return strconv.Quote(s)
}
