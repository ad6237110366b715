// Command qactl is the command-line client of the qa-sampling service.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		// The live heap stays small, so the default collects very often
		// while ingest parses; fewer cycles save ~10% CPU for a few MB.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
