package gateway_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (a
// stream's receiver left behind by a client that went away).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
