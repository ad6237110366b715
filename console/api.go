package console

import (
	"google.golang.org/grpc"

	qav1 "qa-sampling/proto/qa/v1"
)

// API is the services' clients on the console's connection. Calls must use
// View.Ctx, which carries the visitor's credential.
type API struct {
	Access   qav1.AccessServiceClient
	Sampling qav1.SamplingServiceClient
	Review   qav1.ReviewServiceClient
	Rubric   qav1.RubricServiceClient
	Feedback qav1.FeedbackServiceClient
	Report   qav1.ReportServiceClient
	Audit    qav1.AuditServiceClient
	Ingest   qav1.IngestServiceClient
	Info     qav1.InfoServiceClient
	// Calibration runs calibration sessions (calibration.go).
	Calibration qav1.CalibrationServiceClient
	// Checks edits the automatic checks' set (admin_checks.go).
	Checks qav1.CheckServiceClient
	// InspectorReport reports inspector severity and overturns.
	InspectorReport qav1.InspectorReportServiceClient
	// CheckReport: the checks' rates, agreement and re-runs
	// (admin_checkstats.go).
	CheckReport qav1.CheckReportServiceClient
}

func newAPI(conn grpc.ClientConnInterface) *API {
	return &API{
		Access:          qav1.NewAccessServiceClient(conn),
		Sampling:        qav1.NewSamplingServiceClient(conn),
		Review:          qav1.NewReviewServiceClient(conn),
		Rubric:          qav1.NewRubricServiceClient(conn),
		Feedback:        qav1.NewFeedbackServiceClient(conn),
		Report:          qav1.NewReportServiceClient(conn),
		Audit:           qav1.NewAuditServiceClient(conn),
		Ingest:          qav1.NewIngestServiceClient(conn),
		Info:            qav1.NewInfoServiceClient(conn),
		Calibration:     qav1.NewCalibrationServiceClient(conn),
		Checks:          qav1.NewCheckServiceClient(conn),
		InspectorReport: qav1.NewInspectorReportServiceClient(conn),
		CheckReport:     qav1.NewCheckReportServiceClient(conn),
	}
}
