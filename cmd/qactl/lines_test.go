package main

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("a", 3000)
	tooLong := strings.Repeat("b", 5000)
	input := "\xef\xbb\xbf{\"a\":1}\r\n\n" + long + "\n" + tooLong + "\nlast"
	lr := newLineReader(strings.NewReader(input))
	// A small buffer and limit, to exercise long lines cheaply.
	lr.r = bufio.NewReaderSize(strings.NewReader(input), 16)
	lr.maxLine = 4000

	type line struct {
		number int
		text   string
		err    error
	}
	want := []line{
		{1, `{"a":1}`, nil},
		{2, "", nil},
		{3, long, nil},
		{4, "", errLineTooLong},
		{5, "last", nil},
	}
	for _, w := range want {
		got, err := lr.next()
		if !errors.Is(err, w.err) || string(got) != w.text || lr.number != w.number {
			t.Fatalf("line %d: got %q (%v) as number %d, want %q (%v)", w.number, got, err, lr.number, w.text, w.err)
		}
	}
	if _, err := lr.next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last line: %v, want EOF", err)
	}
	if lr.bytesRead != int64(len(input)) {
		t.Errorf("bytesRead = %d, want %d", lr.bytesRead, len(input))
	}
}
