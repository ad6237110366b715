package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// jsonLine prints m as one line of protojson with the API's field names,
// zero values included so every record has every field.
func jsonLine(w io.Writer, m proto.Message) error {
	data, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// jsonLines prints each of ms as a jsonLine.
func jsonLines[M proto.Message](w io.Writer, ms []M) error {
	for _, m := range ms {
		if err := jsonLine(w, m); err != nil {
			return err
		}
	}
	return nil
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func formatTimestamp(ts *timestamppb.Timestamp, loc *time.Location) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(loc).Format(time.RFC3339)
}

// shortTime is ts to the minute in loc with loc's offset, or "-" when
// absent: "2026-11-20 16:00 +08:00".
func shortTime(ts *timestamppb.Timestamp, loc *time.Location) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().In(loc).Format("2006-01-02 15:04 -07:00")
}

// sanitize keeps a message on one line and keeps control characters in
// customer-written text from acting on the terminal.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(" ⏎ ")
		case r == '\t':
			b.WriteByte(' ')
		case r == '\r':
		case unicode.IsControl(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
