package main

import (
	"io"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
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
