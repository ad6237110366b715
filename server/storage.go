package server

import "qa-sampling/store"

// Storage is everything the server persists.
type Storage interface {
	store.Store
	store.SamplingStore
	store.ReviewStore
	store.BacklogStore
}
