// Package fielderr is the one error type for rejected input. A validator
// collects every problem of a request into a List, each a Violation naming
// the field as the API spells it ("dimensions[2].weight") and saying in
// words what is wrong; List.Err returns them as one *Error. The server maps
// an *Error, in one place, to INVALID_ARGUMENT with a google.rpc.BadRequest
// listing every violation; qactl prints the same violations for a bad line
// of an import file.
//
// Values a caller sent are echoed only through Quote, which shows a short
// prefix and the length: an error message travels in a gRPC status header
// and a log line, and a megabyte value must not come back in either.
//
// The package also holds the limits every stored string obeys (ids, names,
// free text) and the checks that enforce them, so that each surface that
// stores a string applies the same rule. It knows nothing of gRPC.
package fielderr
