package main

import (
	"bytes"
	"io"
	"text/tabwriter"
)

// table is a tabwriter whose lines lose the padding after their last
// non-empty cell.
type table struct {
	tw  *tabwriter.Writer
	buf bytes.Buffer
	out io.Writer
}

func newTable(w io.Writer) *table {
	t := &table{out: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 4, 2, ' ', 0)
	return t
}

func (t *table) Write(p []byte) (int, error) { return t.tw.Write(p) }

// Flush writes the table out.
func (t *table) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	out := make([]byte, 0, t.buf.Len())
	for _, line := range bytes.SplitAfter(t.buf.Bytes(), []byte("\n")) {
		out = append(out, bytes.TrimRight(line, " \n")...)
		if bytes.HasSuffix(line, []byte("\n")) {
			out = append(out, '\n')
		}
	}
	t.buf.Reset()
	_, err := t.out.Write(out)
	return err
}
