package importfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
)

// This file turns one line of an import file (JSON Lines) into the API
// message it stands for. Parsing is on the hot path of `qactl ingest`, so the
// common case is one go-json-experiment decode into a reused plain struct and a
// direct build of the protos; only a line that fails takes a second, slower
// pass (diagnose) whose job is to name the offending field precisely.

// LineError says which field of a line is wrong and why; field is a path such
// as "messages[2].sent_at", or "json" when the line is not valid JSON. A
// line reports its first problem, as the server reports one per item.
func LineError(field, reason string) *fielderr.Error {
	return &fielderr.Error{Violations: []fielderr.Violation{{Field: field, Reason: reason}}}
}

// TranscriptParser parses transcript lines. It keeps its decode target
// between lines to save allocations, so one parser serves one goroutine.
type TranscriptParser struct {
	line TranscriptRecord
}

// Parse turns one non-blank line into a transcript, or says why it can't.
// The returned transcript shares nothing with the parser.
func (p *TranscriptParser) Parse(data []byte) (*qav1.Transcript, *fielderr.Error) {
	// encoding/json decodes into existing slice elements and maps and leaves
	// absent fields alone, so clear everything a previous line left behind;
	// only the message array is reused, as the rest goes into the proto.
	msgs := p.line.Messages[:cap(p.line.Messages)]
	clear(msgs)
	p.line = TranscriptRecord{Messages: msgs[:0]}
	if err := decodeStrict(data, &p.line); err != nil {
		return nil, diagnose(data, transcriptSchema, err)
	}
	l := &p.line
	t := &qav1.Transcript{
		ExternalId:    l.ExternalID,
		AgentId:       l.AgentID,
		Channel:       l.Channel,
		CustomerId:    l.CustomerID,
		CustomerTier:  l.CustomerTier,
		Tags:          l.Tags,
		Csat:          l.CSAT,
		TransferCount: l.TransferCount,
		Attributes:    l.Attributes,
	}
	var lerr *fielderr.Error
	if t.StartedAt, lerr = parseTimestamp("started_at", l.StartedAt, nil); lerr != nil {
		return nil, lerr
	}
	if t.EndedAt, lerr = parseTimestamp("ended_at", l.EndedAt, nil); lerr != nil {
		return nil, lerr
	}
	if n := len(l.Messages); n > 0 {
		// One block each for messages, their pointers and their timestamps
		// instead of two allocations per message.
		block := make([]qav1.Message, n)
		stamps := make([]timestamppb.Timestamp, n)
		t.Messages = make([]*qav1.Message, n)
		for i := range l.Messages {
			src, dst := &l.Messages[i], &block[i]
			role, ok := parseRole(src.Role)
			if !ok {
				return nil, LineError(indexedField("messages", i, "role"), unknownRoleReason(src.Role))
			}
			dst.Role = role
			dst.Text = src.Text
			dst.AgentId = src.AgentID
			if dst.SentAt, lerr = parseTimestamp("sent_at", src.SentAt, &stamps[i]); lerr != nil {
				lerr.Violations[0].Field = indexedField("messages", i, "sent_at")
				return nil, lerr
			}
			t.Messages[i] = dst
		}
	}
	return t, nil
}

// ParseAgentLine turns one non-blank line into an agent, or says why it
// can't. An absent "active" means active, written out explicitly so the
// file's meaning does not depend on the server's default.
func ParseAgentLine(data []byte) (*qav1.Agent, *fielderr.Error) {
	var l Agent
	if err := decodeStrict(data, &l); err != nil {
		return nil, diagnose(data, agentSchema, err)
	}
	if l.HiredOn != "" {
		if _, err := time.Parse(time.DateOnly, l.HiredOn); err != nil {
			return nil, LineError("hired_on", "not a date as YYYY-MM-DD: "+fielderr.Quote(l.HiredOn))
		}
	}
	active := true
	if l.Active != nil {
		active = *l.Active
	}
	return &qav1.Agent{
		AgentId:      l.AgentID,
		Name:         l.Name,
		TeamId:       l.TeamID,
		SupervisorId: l.SupervisorID,
		HiredOn:      l.HiredOn,
		Active:       &active,
	}, nil
}

// errNotObject and errTrailingData stand for line shapes encoding/json
// would accept but an import file must not contain.
var (
	errNotObject    = LineError("json", "line is not a JSON object")
	errTrailingData = LineError("json", "unexpected data after the JSON object")
)

// decodeStrict decodes exactly one JSON object from data into v, refusing
// unknown fields. go-json-experiment/json (the upstream of encoding/json/v2)
// parses about 2.5x faster than encoding/json here, which matters because
// the client shares the machine's cores with the server during an import;
// it is also case-sensitive and refuses trailing data and invalid UTF-8.
func decodeStrict(data []byte, v any) error {
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return errNotObject
	}
	err := jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true))
	var syntaxErr *jsontext.SyntacticError
	if errors.As(err, &syntaxErr) && bytes.Contains([]byte(syntaxErr.Error()), []byte("after top-level value")) {
		return errTrailingData
	}
	return err
}

func parseRole(s string) (qav1.Role, bool) {
	switch s {
	case "agent":
		return qav1.Role_ROLE_AGENT, true
	case "customer":
		return qav1.Role_ROLE_CUSTOMER, true
	case "bot":
		return qav1.Role_ROLE_BOT, true
	case "system":
		return qav1.Role_ROLE_SYSTEM, true
	}
	return qav1.Role_ROLE_UNSPECIFIED, false
}

func unknownRoleReason(role string) string {
	if role == "" {
		return "missing; want agent, customer, bot or system"
	}
	return "unknown role " + fielderr.Quote(role) + "; want agent, customer, bot or system"
}

// parseTimestamp parses an RFC 3339 time into into (allocated when nil). An
// empty string is an absent time, left for the server to judge.
func parseTimestamp(field, s string, into *timestamppb.Timestamp) (*timestamppb.Timestamp, *fielderr.Error) {
	if s == "" {
		return nil, nil
	}
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, LineError(field, "not an RFC 3339 time: "+fielderr.Quote(s))
	}
	if into == nil {
		into = new(timestamppb.Timestamp)
	}
	into.Seconds = tm.Unix()
	into.Nanos = int32(tm.Nanosecond())
	return into, nil
}

func indexedField(list string, i int, field string) string {
	return list + "[" + strconv.Itoa(i) + "]." + field
}

// The slow path: diagnose walks a line that failed to decode token by token
// against a description of the expected shape, to name the first offending
// field with its full path (encoding/json's own errors name neither the
// unknown field's path nor array indices).

type valueKind int

const (
	kindString valueKind = iota
	kindInt32
	kindBool
	kindStringList
	kindStringMap
	kindMessageList
)

type schemaField struct {
	name string
	kind valueKind
}

// The schemas are read from the record types' json tags, so the slow path
// names exactly the fields the fast path decodes.
var (
	transcriptSchema = schemaOf(reflect.TypeFor[TranscriptRecord]())
	messageSchema    = schemaOf(reflect.TypeFor[MessageRecord]())
	agentSchema      = schemaOf(reflect.TypeFor[Agent]())
)

// schemaOf describes a record struct's fields by JSON name and kind. A
// field type with no kind here is a programming error, found by any test
// that loads the package.
func schemaOf(t reflect.Type) []schemaField {
	kinds := map[reflect.Type]valueKind{
		reflect.TypeFor[string]():            kindString,
		reflect.TypeFor[int32]():             kindInt32,
		reflect.TypeFor[*int32]():            kindInt32,
		reflect.TypeFor[*bool]():             kindBool,
		reflect.TypeFor[[]string]():          kindStringList,
		reflect.TypeFor[map[string]string](): kindStringMap,
		reflect.TypeFor[[]MessageRecord]():   kindMessageList,
	}
	schema := make([]schemaField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		kind, ok := kinds[f.Type]
		if !ok {
			panic("importfile: no schema kind for " + t.Name() + "." + f.Name + " of type " + f.Type.String())
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		schema[i] = schemaField{name: name, kind: kind}
	}
	return schema
}

// diagnose explains why data failed to decode with decodeErr.
func diagnose(data []byte, schema []schemaField, decodeErr error) *fielderr.Error {
	if lerr := (*fielderr.Error)(nil); errors.As(decodeErr, &lerr) {
		return lerr
	}
	w := jsonWalker{dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	if lerr := w.object("", schema); lerr != nil {
		return lerr
	}
	// The walker found nothing wrong; fall back to encoding/json's words.
	return LineError("json", strings.TrimPrefix(decodeErr.Error(), "json: "))
}

type jsonWalker struct {
	dec *json.Decoder
}

// token reads the next token, turning a syntax error into a line error.
func (w *jsonWalker) token() (json.Token, *fielderr.Error) {
	tok, err := w.dec.Token()
	if err != nil {
		reason := strings.TrimPrefix(err.Error(), "json: ")
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			reason = "unexpected end of line"
		}
		return nil, LineError("json", reason+" (at byte "+strconv.FormatInt(w.dec.InputOffset(), 10)+")")
	}
	return tok, nil
}

func (w *jsonWalker) object(path string, schema []schemaField) *fielderr.Error {
	tok, lerr := w.token()
	if lerr != nil {
		return lerr
	}
	if tok == nil && path != "" {
		return nil // null decodes to a zero value
	}
	if tok != json.Delim('{') {
		return wrongType(path, "an object", tok)
	}
	for w.dec.More() {
		tok, lerr := w.token()
		if lerr != nil {
			return lerr
		}
		key, _ := tok.(string)
		field := lookupField(schema, key)
		if field == nil {
			return LineError(joinPath(path, key), "unknown field")
		}
		if lerr := w.value(joinPath(path, field.name), field.kind); lerr != nil {
			return lerr
		}
	}
	_, lerr = w.token() // the closing brace
	return lerr
}

func (w *jsonWalker) value(path string, kind valueKind) *fielderr.Error {
	if kind == kindMessageList {
		return w.list(path, func(elem string) *fielderr.Error { return w.object(elem, messageSchema) })
	}
	if kind == kindStringList {
		return w.list(path, func(elem string) *fielderr.Error { return w.value(elem, kindString) })
	}
	tok, lerr := w.token()
	if lerr != nil {
		return lerr
	}
	if tok == nil {
		return nil
	}
	switch kind {
	case kindString:
		if _, ok := tok.(string); !ok {
			return wrongType(path, "a string", tok)
		}
	case kindBool:
		if _, ok := tok.(bool); !ok {
			return wrongType(path, "true or false", tok)
		}
	case kindInt32:
		num, ok := tok.(json.Number)
		if !ok {
			return wrongType(path, "an integer", tok)
		}
		if _, err := strconv.ParseInt(num.String(), 10, 32); err != nil {
			return LineError(path, "want an integer in 32 bits, got "+num.String())
		}
	case kindStringMap:
		if tok != json.Delim('{') {
			return wrongType(path, "an object of strings", tok)
		}
		for w.dec.More() {
			keyTok, lerr := w.token()
			if lerr != nil {
				return lerr
			}
			key, _ := keyTok.(string)
			if lerr := w.value(path+"."+key, kindString); lerr != nil {
				return lerr
			}
		}
		_, lerr = w.token()
		return lerr
	}
	return nil
}

func (w *jsonWalker) list(path string, elem func(path string) *fielderr.Error) *fielderr.Error {
	tok, lerr := w.token()
	if lerr != nil || tok == nil {
		return lerr
	}
	if tok != json.Delim('[') {
		return wrongType(path, "an array", tok)
	}
	for i := 0; w.dec.More(); i++ {
		if lerr := elem(path + "[" + strconv.Itoa(i) + "]"); lerr != nil {
			return lerr
		}
	}
	_, lerr = w.token()
	return lerr
}

// lookupField matches a key the way encoding/json does: exact name first,
// then case-insensitively.
func lookupField(schema []schemaField, key string) *schemaField {
	for i := range schema {
		if schema[i].name == key {
			return &schema[i]
		}
	}
	for i := range schema {
		if strings.EqualFold(schema[i].name, key) {
			return &schema[i]
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if key == "" {
		key = `""`
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func wrongType(path, want string, got json.Token) *fielderr.Error {
	field := path
	if field == "" {
		field = "json"
	}
	return LineError(field, "want "+want+", got "+describeToken(got))
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	}
	return "something else"
}
