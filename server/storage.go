package server

import "qa-sampling/store"

// Storage is everything the server persists: the whole store contract.
// Parts that need less take the narrower capability interfaces of store.
type Storage = store.Store
