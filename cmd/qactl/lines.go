package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"qa-sampling/internal/importfile"
)

// maxLineBytes bounds one line of an import file, so that a file without
// newlines (a binary by mistake) is rejected instead of filling memory.
const maxLineBytes = 64 << 20

var errLineTooLong = importfile.LineError("json", "line longer than 64 MiB")

// lineReader reads an import file line by line, counting lines and bytes.
type lineReader struct {
	r *bufio.Reader
	// number is the 1-based number of the line last returned.
	number int
	// bytesRead counts every byte consumed, newlines included.
	bytesRead int64
	maxLine   int
	long      []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<20), maxLine: maxLineBytes}
}

// next returns the next line without its line ending; the slice is valid
// until the following call. A line over lr.maxLine is skipped and reported
// as errLineTooLong; at the end of input next returns io.EOF.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.r.ReadSlice('\n')
	lr.bytesRead += int64(len(line))
	if errors.Is(err, bufio.ErrBufferFull) {
		line, err = lr.readLong(line)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(line) == 0 && err != nil {
		return nil, io.EOF
	}
	lr.number++
	if lr.number == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if line == nil {
		// A line over the limit: let the caller count it as rejected.
		return nil, errLineTooLong
	}
	return line, nil
}

// readLong collects a line longer than the read buffer, dropping its content
// once it exceeds lr.maxLine (the returned line is then nil).
func (lr *lineReader) readLong(first []byte) ([]byte, error) {
	lr.long = append(lr.long[:0], first...)
	tooLong := false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		lr.bytesRead += int64(len(chunk))
		if !tooLong {
			if len(lr.long)+len(chunk) > lr.maxLine {
				tooLong = true
				lr.long = nil
			} else {
				lr.long = append(lr.long, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			// Non-nil and empty would read as a blank line; nil marks it.
			return nil, nilIfEOF(err)
		}
		return lr.long, err
	}
}

func nilIfEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// inputWouldBlock reports whether reading on would have to wait for more
// input; callers use it to send what they have instead of waiting.
func (lr *lineReader) inputWouldBlock() bool {
	return lr.r.Buffered() == 0
}

// openInput opens the --file argument: "-" is stdin. size is the file's
// length when known (a regular file), else -1.
func openInput(name string, stdin io.Reader) (r io.Reader, size int64, closeFn func(), err error) {
	if name == "-" {
		return stdin, -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	size = -1
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	return f, size, func() { _ = f.Close() }, nil
}

// printRejection prints one rejected line as "line N: field: reason". A
// failing stderr is ignored: there is nowhere left to say so.
func printRejection(w io.Writer, line int, field, reason string) {
	if field == "" {
		_, _ = fmt.Fprintf(w, "line %d: %s\n", line, reason)
		return
	}
	_, _ = fmt.Fprintf(w, "line %d: %s: %s\n", line, field, reason)
}

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
