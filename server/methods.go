package server

import (
	"strings"

	"qa-sampling/store"
)

// methodRule is what the server allows per method: who may call it, and
// whether its requests may be bulk-sized (see Config.MaxRecvMsgBytes). A
// public method needs no bearer: its request carries the credential it
// checks itself (StartSession); the request size limit still applies.
type methodRule struct {
	roles  []store.Role
	bulk   bool
	public bool
}

// consoleRoles are the people who sign in to the console; allRoles adds
// ingest.
var (
	consoleRoles = []store.Role{store.RoleAdmin, store.RoleInspector, store.RoleSupervisor}
	allRoles     = []store.Role{store.RoleAdmin, store.RoleIngest, store.RoleInspector, store.RoleSupervisor}
)

// ingestRoles may push data.
var ingestRoles = []store.Role{store.RoleIngest, store.RoleAdmin}

// methodRules lists every method with its rule. It is the one permission
// table: the transport tap and the interceptors both read it. A method
// missing here is denied to everyone: new methods fail closed.
var methodRules = map[string]methodRule{
	"/qa.v1.IngestService/UpsertAgents":    {roles: ingestRoles, bulk: true},
	"/qa.v1.IngestService/PushTranscripts": {roles: ingestRoles, bulk: true},
	"/qa.v1.IngestService/PushTranscript":  {roles: ingestRoles, bulk: true},
	"/qa.v1.IngestService/GetTranscript":   {roles: []store.Role{store.RoleAdmin}},

	"/qa.v1.CheckService/GetCheckSet":           {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CheckService/UpdateCheckSet":        {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CheckService/ValidateCheckSet":      {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CheckReportService/GetCheckReport":  {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CheckReportService/StartCheckRerun": {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CheckReportService/GetCheckRerun":   {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CheckReportService/ListCheckReruns": {roles: []store.Role{store.RoleAdmin}},

	"/qa.v1.SamplingService/GetPolicy":       {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/UpdatePolicy":    {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/ValidatePolicy":  {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/RunWeek":         {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/PreviewWeek":     {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/GetRun":          {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/ListRuns":        {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/ListPicks":       {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/UpsertInspector": {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/ListInspectors":  {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.SamplingService/ReassignItems":   {roles: []store.Role{store.RoleAdmin}},

	"/qa.v1.ReviewService/ListQueue":    {roles: []store.Role{store.RoleInspector}},
	"/qa.v1.ReviewService/ReleaseItem":  {roles: []store.Role{store.RoleInspector}},
	"/qa.v1.ReviewService/SkipItem":     {roles: []store.Role{store.RoleInspector}},
	"/qa.v1.ReviewService/OpenItem":     {roles: []store.Role{store.RoleInspector}},
	"/qa.v1.ReviewService/SubmitReview": {roles: []store.Role{store.RoleInspector}},
	"/qa.v1.ReviewService/GetReview":    {roles: []store.Role{store.RoleInspector, store.RoleSupervisor, store.RoleAdmin}},
	"/qa.v1.ReviewService/ListReviews":  {roles: []store.Role{store.RoleInspector, store.RoleAdmin}},

	"/qa.v1.RubricService/GetRubric":      {roles: []store.Role{store.RoleAdmin, store.RoleInspector, store.RoleSupervisor}},
	"/qa.v1.RubricService/ListRubrics":    {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.RubricService/CreateRubric":   {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.RubricService/UpdateRubric":   {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.RubricService/ActivateRubric": {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.RubricService/ValidateRubric": {roles: []store.Role{store.RoleAdmin}},

	"/qa.v1.FeedbackService/ListFeedback":        {roles: []store.Role{store.RoleSupervisor, store.RoleAdmin}},
	"/qa.v1.FeedbackService/WatchFeedback":       {roles: []store.Role{store.RoleSupervisor, store.RoleAdmin}},
	"/qa.v1.FeedbackService/AcknowledgeFeedback": {roles: []store.Role{store.RoleSupervisor}},
	"/qa.v1.FeedbackService/OpenDispute":         {roles: []store.Role{store.RoleSupervisor}},
	"/qa.v1.FeedbackService/ListDisputes":        {roles: []store.Role{store.RoleSupervisor, store.RoleAdmin}},
	"/qa.v1.FeedbackService/GetFeedback":         {roles: []store.Role{store.RoleSupervisor, store.RoleAdmin}},

	"/qa.v1.ReportService/GetAgentReport": {roles: []store.Role{store.RoleSupervisor, store.RoleAdmin}},
	"/qa.v1.ReportService/GetTeamReport":  {roles: []store.Role{store.RoleSupervisor, store.RoleAdmin}},
	"/qa.v1.ReportService/ListTeams":      {roles: []store.Role{store.RoleSupervisor, store.RoleAdmin}},
	// Inspector severity, overturns and calibration standings: admins.
	"/qa.v1.InspectorReportService/GetInspectorsReport": {roles: []store.Role{store.RoleAdmin}},

	"/qa.v1.AuditService/ListAuditEvents": {roles: []store.Role{store.RoleAdmin}},

	// Calibration: admins run sessions; inspectors see their own, and
	// their results once revealed (calibration_service.go).
	"/qa.v1.CalibrationService/CreateCalibration":     {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CalibrationService/ListCalibrations":      {roles: []store.Role{store.RoleAdmin, store.RoleInspector}},
	"/qa.v1.CalibrationService/GetCalibration":        {roles: []store.Role{store.RoleAdmin, store.RoleInspector}},
	"/qa.v1.CalibrationService/CloseCalibration":      {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.CalibrationService/GetCalibrationResults": {roles: []store.Role{store.RoleAdmin, store.RoleInspector}},

	// The programme's time zone and the server's version, for presenting
	// times: every role.
	"/qa.v1.InfoService/GetServerInfo": {roles: allRoles},

	// Signing in trades a login code or a token for a session: the
	// request is the credential. Signing out and "who am I" are any
	// signed-in person's (WhoAmI any caller's); the rest is the admin's.
	"/qa.v1.AccessService/StartSession":    {public: true},
	"/qa.v1.AccessService/EndSession":      {roles: consoleRoles},
	"/qa.v1.AccessService/WhoAmI":          {roles: allRoles},
	"/qa.v1.AccessService/CreateLoginLink": {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.AccessService/ListSessions":    {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.AccessService/RevokeSession":   {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.AccessService/ListTokens":      {roles: []store.Role{store.RoleAdmin}},
	"/qa.v1.AccessService/RevokeToken":     {roles: []store.Role{store.RoleAdmin}},
}

// permitted reports whether role may call method.
func permitted(role store.Role, method string) bool {
	for _, r := range methodRules[method].roles {
		if r == role {
			return true
		}
	}
	return false
}

// publicService reports methods that need no token: health checks and
// reflection, so load balancers and grpcurl work without credentials, and
// the public methods of methodRules.
func publicService(method string) bool {
	return methodRules[method].public ||
		strings.HasPrefix(method, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1.ServerReflection/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1alpha.ServerReflection/")
}
