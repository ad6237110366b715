// Package buildinfo describes the running binary for --version, from the
// build information the Go toolchain embeds: module version and the
// version-control state it was built from.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// String is the running binary's version line.
func String() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (built without module support)"
	}
	return Describe(info)
}

// Describe formats info as one line: module version, VCS revision, commit
// time, whether the tree had uncommitted changes, and the Go version, e.g.
// "(devel) revision 53bc602f… committed 2026-12-05T17:00:00Z modified go1.26.8".
// Parts the build did not record are left out.
func Describe(info *debug.BuildInfo) string {
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	parts := []string{version}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		parts = append(parts, "revision "+rev)
	}
	if at := settings["vcs.time"]; at != "" {
		parts = append(parts, "committed "+at)
	}
	if settings["vcs.modified"] == "true" {
		parts = append(parts, "modified")
	}
	if info.GoVersion != "" {
		parts = append(parts, info.GoVersion)
	}
	return strings.Join(parts, " ")
}
