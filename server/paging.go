package server

import (
	"cmp"
	"strconv"

	"qa-sampling/fielderr"
)

// Paging: every list call follows AIP-158. page_size defaults to
// defaultPageSize and may not exceed maxPageSize; a response's
// next_page_token, passed back as page_token, continues the list and is
// empty on the last page. A token is the key of the last item returned
// (its id), so a page continues after that item even when rows were added
// or removed meanwhile; clients treat it as opaque. WatchFeedback's
// after_id is a stream cursor, not paging, and stays.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageRequest is a checked page_size and page_token of a list whose items
// are keyed by K.
type pageRequest[K cmp.Ordered] struct {
	size int
	// after is the key of the last item of the previous page; set only
	// when there was one.
	after    K
	hasAfter bool
}

// pageSize applies the default and the cap.
func pageSize(l *fielderr.List, n int32) int {
	switch {
	case n < 0:
		l.Add("page_size", "must not be negative")
	case n == 0:
		return defaultPageSize
	case n > maxPageSize:
		l.Add("page_size", "at most %d", maxPageSize)
	}
	return int(n)
}

// idPage checks the paging fields of a list keyed by positive ids into l.
// legacyAfter is a deprecated after_id, used when there is no token.
func idPage(l *fielderr.List, size int32, token string, legacyAfter int64) pageRequest[int64] {
	p := pageRequest[int64]{size: pageSize(l, size)}
	switch {
	case token != "":
		n, err := strconv.ParseInt(token, 10, 64)
		if err != nil || n <= 0 {
			l.Add("page_token", "not a token from a previous response")
		}
		p.after, p.hasAfter = n, true
	case legacyAfter < 0:
		l.Add("after_id", "must not be negative")
	case legacyAfter > 0:
		p.after, p.hasAfter = legacyAfter, true
	}
	return p
}

// keyPage checks the paging fields of a list keyed by string ids into l.
func keyPage(l *fielderr.List, size int32, token string) pageRequest[string] {
	return pageRequest[string]{size: pageSize(l, size), after: token, hasAfter: token != ""}
}

// fetch is how many items to read for a page: one more than the page, so
// that a full last page is known to be the last.
func (p pageRequest[K]) fetch() int { return p.size + 1 }

// cut trims items, read with fetch, to the page and returns the token of
// the next page ("" when this one is the last).
func cut[T any, K cmp.Ordered](p pageRequest[K], items []T, key func(T) K) ([]T, string) {
	if len(items) <= p.size {
		return items, ""
	}
	items = items[:p.size]
	return items, tokenOf(key(items[len(items)-1]))
}

func tokenOf[K cmp.Ordered](k K) string {
	switch k := any(k).(type) {
	case int64:
		return strconv.FormatInt(k, 10)
	case string:
		return k
	}
	panic("server: page key neither int64 nor string")
}

// pageOf pages a list read whole, already in list order: ascending by key,
// or descending when desc. Only lists that stay small are read whole
// (rubric versions, runs, inspectors, disputes); the ones that grow without
// bound page in the store (an inspector's queue too: thousands of items).
func pageOf[T any, K cmp.Ordered](p pageRequest[K], items []T, key func(T) K, desc bool) ([]T, string) {
	start := 0
	if p.hasAfter {
		start = len(items)
		for i, it := range items {
			if c := cmp.Compare(key(it), p.after); (!desc && c > 0) || (desc && c < 0) {
				start = i
				break
			}
		}
	}
	items = items[start:]
	if len(items) > p.fetch() {
		items = items[:p.fetch()]
	}
	return cut(p, items, key)
}
