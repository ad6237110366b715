package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{
			name: "release build from a clean tree",
			info: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "53bc602f"}, {Key: "vcs.time", Value: "2026-12-05T17:00:00Z"}, {Key: "vcs.modified", Value: "false"},
			}},
			want: "v1.2.0 revision 53bc602f committed 2026-12-05T17:00:00Z go1.26.8",
		},
		{
			name: "local build with uncommitted changes",
			info: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "53bc602f"}, {Key: "vcs.modified", Value: "true"},
			}},
			want: "(devel) revision 53bc602f modified go1.26.8",
		},
		{
			name: "no VCS information",
			info: debug.BuildInfo{},
			want: "(devel)",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Describe(&c.info); got != c.want {
				t.Errorf("Describe = %q, want %q", got, c.want)
			}
		})
	}
}
