package store

import "time"

// Inspector is a QA inspector who scores picked conversations.
type Inspector struct {
	ID        string
	Name      string
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}
