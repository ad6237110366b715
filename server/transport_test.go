package server

import (
	"net"
	"testing"

	"golang.org/x/net/http2"
)

// TestTransportSettings reads the HTTP/2 SETTINGS the server announces:
// the per-connection stream bound and the header limit reach the wire.
func TestTransportSettings(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxStreamsPerConn = 7
	env := startEnv(t, cfg)
	conn, err := net.Dial("tcp", env.conn.Target())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	settings, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("first frame is %T, want SETTINGS", f)
	}
	for id, want := range map[http2.SettingID]uint32{
		http2.SettingMaxConcurrentStreams: 7,
		http2.SettingMaxHeaderListSize:    maxHeaderBytes,
	} {
		if got, ok := settings.Value(id); !ok || got != want {
			t.Errorf("%v = %d (sent %v), want %d", id, got, ok, want)
		}
	}
}
