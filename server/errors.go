package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/store"
	"qa-sampling/transcript"
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

// invalidArgument is INVALID_ARGUMENT naming the field in the message and
// as a standard BadRequest detail, so generic clients (grpcurl) show it too.
func invalidArgument(fe *transcript.FieldError) error {
	st := status.New(codes.InvalidArgument, fe.Error())
	withDetails, err := st.WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: fe.Field, Description: fe.Reason}},
	})
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}
