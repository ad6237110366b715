package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	qav1 "qa-sampling/proto/qa/v1"
)

// displayLocation is the zone text output shows times in: the programme's
// (the newest policy's time_zone, from InfoService.GetServerInfo, which
// every role may call), so that a team in Asia/Shanghai reads its own
// clock, with the offset shown. When the server cannot say (an older
// server, a failed call, a zone this machine does not know) it is the
// local zone. --json needs none: it prints RFC 3339 in UTC.
func displayLocation(ctx context.Context, conn grpc.ClientConnInterface) *time.Location {
	resp, err := qav1.NewInfoServiceClient(conn).GetServerInfo(ctx, &qav1.GetServerInfoRequest{})
	if err != nil {
		return time.Local
	}
	return zoneOr(resp.GetTimeZone(), time.Local)
}

// zoneOr loads the IANA zone name, or returns fallback when name is empty
// or unknown here.
func zoneOr(name string, fallback *time.Location) *time.Location {
	if name == "" {
		return fallback
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return fallback
	}
	return loc
}

// location is displayLocation over c's connection: call it once per
// command, and only for text output.
func (c clients) location() *time.Location { return displayLocation(c.ctx, c.conn) }

// textLocation is c.location() for text output; with --json, which needs
// no zone, it makes no call.
func (o *globalOptions) textLocation(c clients) *time.Location {
	if o.json {
		return time.UTC
	}
	return c.location()
}

// connLocation is displayLocation for a command that holds its own
// connection, within --timeout.
func (o *globalOptions) connLocation(cmd *cobra.Command, conn grpc.ClientConnInterface) *time.Location {
	ctx, cancel := o.unaryContext(cmd.Context())
	defer cancel()
	return displayLocation(ctx, conn)
}
