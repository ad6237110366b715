package redact

import "strings"

// findEmails appends the spans of e-mail addresses in text: a local part
// of ASCII letters, digits and ._%+- before an '@' (or the full-width '＠'
// a Chinese input method types), a domain of at least two dot-separated
// labels after it whose last label is letters only.
func findEmails(text string, spans []span) []span {
	from := 0
	for {
		at, width := nextAt(text, from)
		if at < 0 {
			return spans
		}
		start := at
		for start > 0 && isLocalChar(text[start-1]) {
			start--
		}
		for start < at && text[start] == '.' {
			start++
		}
		end := domainEnd(text, at+width)
		if start < at && end > at+width && (len(spans) == 0 || spans[len(spans)-1].end <= start) {
			spans = append(spans, span{start: start, end: end, kind: Email})
			from = end
		} else {
			from = at + width
		}
		if from >= len(text) {
			return spans
		}
	}
}

// fullWidthAt is the full-width commercial at, U+FF20.
const fullWidthAt = "＠"

// nextAt returns where the first at sign at or after from is and its
// width in bytes (1 for '@', 3 for '＠'), or -1.
func nextAt(text string, from int) (int, int) {
	at := strings.IndexByte(text[from:], '@')
	if at >= 0 {
		at += from
	}
	// The full-width one is only looked for before the ASCII one (or
	// anywhere without it), so text without it costs one short scan.
	limit := len(text)
	if at >= 0 {
		limit = at
	}
	if fw := strings.Index(text[from:limit], fullWidthAt); fw >= 0 {
		return from + fw, len(fullWidthAt)
	}
	if at < 0 {
		return -1, 0
	}
	return at, 1
}

func isLocalChar(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// domainEnd returns where the domain that starts at i ends, or i if none
// does: labels of letters, digits and inner hyphens, at least two, the
// last of two or more letters.
func domainEnd(text string, i int) int {
	end, labels, lastStart := i, 0, i
	j := i
	for {
		k := j
		for k < len(text) && (isASCIILetter(text[k]) || text[k] >= '0' && text[k] <= '9' || text[k] == '-') {
			k++
		}
		if k == j || text[j] == '-' || text[k-1] == '-' {
			break
		}
		labels++
		end, lastStart = k, j
		if k+1 < len(text) && text[k] == '.' && isASCIILetterOrDigit(text[k+1]) {
			j = k + 1
			continue
		}
		break
	}
	if labels < 2 || end-lastStart < 2 {
		return i
	}
	for p := lastStart; p < end; p++ {
		if !isASCIILetter(text[p]) {
			return i
		}
	}
	return end
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isASCIILetterOrDigit(c byte) bool { return isASCIILetter(c) || c >= '0' && c <= '9' }
