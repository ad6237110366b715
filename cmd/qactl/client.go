package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// clients are the service clients of one connection, with a call context.
type clients struct {
	ctx      context.Context
	conn     grpc.ClientConnInterface
	sampling qav1.SamplingServiceClient
	review   qav1.ReviewServiceClient
	feedback qav1.FeedbackServiceClient
	rubric   qav1.RubricServiceClient
	report   qav1.ReportServiceClient
	inspRep  qav1.InspectorReportServiceClient
	audit    qav1.AuditServiceClient
	access   qav1.AccessServiceClient
	calib    qav1.CalibrationServiceClient
}

func newClients(ctx context.Context, conn *grpc.ClientConn) clients {
	return clients{
		ctx:      ctx,
		conn:     conn,
		sampling: qav1.NewSamplingServiceClient(conn),
		review:   qav1.NewReviewServiceClient(conn),
		feedback: qav1.NewFeedbackServiceClient(conn),
		rubric:   qav1.NewRubricServiceClient(conn),
		report:   qav1.NewReportServiceClient(conn),
		inspRep:  qav1.NewInspectorReportServiceClient(conn),
		audit:    qav1.NewAuditServiceClient(conn),
		access:   qav1.NewAccessServiceClient(conn),
		calib:    qav1.NewCalibrationServiceClient(conn),
	}
}

// call dials, runs one unary call and prints what it returns: as a JSON
// line with --json, otherwise as protojson for a person. A nil message
// means the call printed its own text.
func (o *globalOptions) call(cmd *cobra.Command, do func(clients) (proto.Message, error)) error {
	var m proto.Message
	err := o.withConn(func(conn *grpc.ClientConn) error {
		ctx, cancel := o.unaryContext(cmd.Context())
		defer cancel()
		var err error
		m, err = do(newClients(ctx, conn))
		return err
	})
	if err != nil || m == nil {
		return err
	}
	if o.json {
		return jsonLine(cmd.OutOrStdout(), m)
	}
	data, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(append(data, '\n'))
	return err
}

// withConn dials the server, runs fn and closes the connection.
func (o *globalOptions) withConn(fn func(*grpc.ClientConn) error) error {
	conn, err := o.dial()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return fn(conn)
}

// readProtoJSON reads --file (or stdin for "-") as the JSON form of m; a
// malformed document is a usage error naming --file.
func readProtoJSON(cmd *cobra.Command, file string, m proto.Message) error {
	in, _, closeInput, err := openInput(file, cmd.InOrStdin())
	if err != nil {
		return err
	}
	defer closeInput()
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	if err := protojson.Unmarshal(data, m); err != nil {
		return usageError{err: fmt.Errorf("--file: %w", err), command: cmd.CommandPath()}
	}
	return nil
}
