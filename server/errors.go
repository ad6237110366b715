package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/fielderr"
	"qa-sampling/store"
)

// storeError maps a store error to a gRPC status. Internal detail is logged,
// never sent: the caller sees only the code and a generic message.
func storeError(ctx context.Context, log *slog.Logger, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, "not found")
	case errors.Is(err, store.ErrConflict):
		return status.Error(codes.AlreadyExists, "conflicts with stored data")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, store.ErrSchemaOutdated):
		log.ErrorContext(ctx, "store not ready", "err", err)
		return status.Error(codes.Unavailable, "storage is not ready")
	}
	log.ErrorContext(ctx, "store failure", "err", err)
	return status.Error(codes.Unavailable, "storage failure; the server log has details under this call's x-request-id")
}

// invalidArgument maps rejected input to INVALID_ARGUMENT: the message
// names the first few fields, and a standard BadRequest detail lists every
// violation, so generic clients (grpcurl) show them too. It is the only
// place a *fielderr.Error becomes a status; fielderr bounds its size.
func invalidArgument(fe *fielderr.Error) error {
	st := status.New(codes.InvalidArgument, fe.Error())
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, len(fe.Violations))}
	for i, v := range fe.Violations {
		br.FieldViolations[i] = &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Reason}
	}
	withDetails, err := st.WithDetails(br)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}

// badField is invalidArgument of one violation; format quotes a caller's
// value only through fielderr.Quote.
func badField(field, format string, args ...any) error {
	return invalidArgument(fielderr.New(field, format, args...))
}

// invalid is invalidArgument of a validator's error (nil when err is nil);
// an error that is not a *fielderr.Error becomes a violation of field.
func invalid(field string, err error) error {
	if err == nil {
		return nil
	}
	fe, ok := fielderr.As(fielderr.Prefix(field, err))
	if !ok {
		return badField(field, "%v", err)
	}
	return invalidArgument(fe)
}

// invalidList is invalidArgument of the violations l collected, or nil.
func invalidList(l *fielderr.List) error {
	if fe := l.Collected(); fe != nil {
		return invalidArgument(fe)
	}
	return nil
}

// badText checks one free-text field (fielderr.List.Text).
func badText(field, s string, maxBytes int, required bool) error {
	var l fielderr.List
	l.Text(field, s, maxBytes, required)
	return invalidList(&l)
}
