package store

import "time"

// Agent is a customer-service agent from the source system's directory.
type Agent struct {
	AgentID      string
	Name         string
	TeamID       string
	SupervisorID string
	// HiredOn is a calendar date ("2006-01-02"); empty when unknown.
	HiredOn   string
	Active    bool
	UpdatedAt time.Time
}
