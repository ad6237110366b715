// Package isoweek is the ISO 8601 week the service samples, reports and
// schedules by ("2026-W47"): parsing and printing it, the week a moment
// falls in within a time zone, and a week's bounds as wall-clock times.
package isoweek
