package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildOf(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/intelliauth/intelliauth", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}
	for _, tc := range []struct {
		name    string
		stamped buildInfo
		bi      *debug.BuildInfo
		want    buildInfo
	}{
		{"nothing recorded: dev and unknown", buildInfo{}, nil,
			buildInfo{Version: "dev", Commit: unknown, Date: unknown}},
		{"go build in a checkout: commit, its time and the dirty flag from vcs settings", buildInfo{}, vcs,
			buildInfo{Version: "dev", Commit: "0123456789abcdef0123456789abcdef01234567", Modified: true, Date: "2026-12-01T10:00:00Z"}},
		{"go install @version: the module version", buildInfo{}, installed,
			buildInfo{Version: "v1.4.0", Commit: unknown, Date: unknown}},
		{"stamped by scripts/build.sh: the stamp wins over vcs settings", buildInfo{Version: "v2.0.0", Commit: "feedface", Date: "2026-12-03T00:00:00Z"}, vcs,
			buildInfo{Version: "v2.0.0", Commit: "feedface", Date: "2026-12-03T00:00:00Z"}},
		{"only the version stamped: commit and time still from vcs", buildInfo{Version: "v2.0.0"}, vcs,
			buildInfo{Version: "v2.0.0", Commit: "0123456789abcdef0123456789abcdef01234567", Modified: true, Date: "2026-12-01T10:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildOf(tc.stamped, tc.bi)
			tc.want.GoVersion = runtime.Version()
			if tc.bi != nil {
				tc.want.GoVersion = tc.bi.GoVersion
			}
			tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got != tc.want {
				t.Errorf("buildOf = %+v\nwant      %+v", got, tc.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out := must(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "intelliauth ") {
			t.Fatalf("%v: want 4 lines starting with 'intelliauth <version>', got:\n%s", args, out)
		}
		for i, key := range []string{"commit", "date", "go"} {
			if f := strings.Fields(lines[i+1]); len(f) < 2 || f[0] != key {
				t.Errorf("%v: line %d is %q, want %q and a value", args, i+2, lines[i+1], key)
			}
		}
		if !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v: does not name the Go version %s:\n%s", args, runtime.Version(), out)
		}
	}
	var b buildInfo
	mustJSON(t, &b, nil, "version", "--output", "json")
	if b.Version == "" || b.Commit == "" || b.Date == "" || b.GoVersion != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version --output json = %+v: a field is missing", b)
	}
	raw := must(t, nil, "version", "--output", "json")
	var keys map[string]any
	if err := json.Unmarshal([]byte(raw), &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "commit", "date", "go_version", "platform"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("version --output json lacks %q: %s", k, raw)
		}
	}
	if code, _, errOut := runCLI(t, nil, "version", "--output", "yaml"); code != 2 || !strings.Contains(errOut, "text or json") {
		t.Errorf("version --output yaml: exit %d, %q; want 2 and the accepted formats", code, errOut)
	}
	if code, _, _ := runCLI(t, nil, "version", "extra"); code != 2 {
		t.Errorf("version extra: exit %d, want 2", code)
	}
}
