// Package storetest is the conformance suite every store.Store backend runs:
// one Run call covers each method and each outcome of the contract, with a
// fresh store per subtest so that no test sees another's data. The tests
// of each capability are in the file of its name, as in package store.
package storetest
