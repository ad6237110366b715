package gateway

import (
	"encoding/json"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	// Registers google.rpc.BadRequest and the other details, so that
	// protojson can render them.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
)

// errorBody is the JSON of a refused call: the gRPC code by its canonical
// name ("INVALID_ARGUMENT"), the status message, and the status details in
// protojson ({"@type": "type.googleapis.com/google.rpc.BadRequest",
// "fieldViolations": [{"field": …, "description": …}]}).
type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

func newErrorBody(st *status.Status) errorBody {
	b := errorBody{Code: code.Code(st.Code()).String(), Message: st.Message(), Details: []json.RawMessage{}}
	for _, d := range st.Proto().GetDetails() {
		j, err := marshalOptions.Marshal(d)
		if err != nil {
			continue // a detail type this binary does not know
		}
		b.Details = append(b.Details, j)
	}
	return b
}

// httpStatus is grpc-gateway's mapping of gRPC codes to HTTP statuses,
// which HTTP clients of other gRPC services already expect.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499 // client closed request
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError answers with st's mapped HTTP status, or with httpCode when
// it is not 0 (a body too large is 413, not RESOURCE_EXHAUSTED's 429).
func writeError(w http.ResponseWriter, st *status.Status, httpCode int) {
	if httpCode == 0 {
		httpCode = httpStatus(st.Code())
	}
	body, err := json.Marshal(newErrorBody(st))
	if err != nil {
		body = []byte(`{"code":"INTERNAL","message":"error not rendered","details":[]}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if st.Code() == codes.Unauthenticated {
		h.Set("WWW-Authenticate", `Bearer realm="qa-sampling"`)
	}
	w.WriteHeader(httpCode)
	_, _ = w.Write(append(body, '\n'))
}

var marshalOptions = protojson.MarshalOptions{}
