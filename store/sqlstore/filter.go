package sqlstore

import "strings"

// filterQuery builds the listing queries: a base SELECT, the conditions
// the caller's filter sets, an order and an optional limit.
type filterQuery struct {
	where []string
	args  []any
}

// add appends one condition with its single ? argument.
func (f *filterQuery) add(cond string, arg any) {
	f.where = append(f.where, cond)
	f.args = append(f.args, arg)
}

// addBare appends a condition without an argument.
func (f *filterQuery) addBare(cond string) { f.where = append(f.where, cond) }

// build returns "base WHERE … ORDER BY orderBy [LIMIT ?]" and its
// arguments; limit <= 0 means none.
func (f *filterQuery) build(base, orderBy string, limit int) (string, []any) {
	var b strings.Builder
	b.WriteString(base)
	if len(f.where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(f.where, " AND "))
	}
	b.WriteString(" ORDER BY ")
	b.WriteString(orderBy)
	args := f.args
	if limit > 0 {
		// Bound, not inlined: the statement text stays the same across
		// pages, so its prepared form is reused.
		b.WriteString(" LIMIT ?")
		args = append(args[:len(args):len(args)], int64(limit))
	}
	return b.String(), args
}
