package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Stamped at link time by scripts/build.sh (the one build recipe the
// Dockerfile, scripts/release.sh and the packaging test share):
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<full sha> -X main.date=<RFC 3339 UTC>"
//
// They are package-level variables only because -X can set nothing else;
// nothing assigns them at run time, so they are constants of the binary, not
// shared mutable state. Empty means "not stamped" (go run, go build, go
// install), and buildOf falls back to what the toolchain recorded.
var (
	version string
	commit  string
	date    string
)

// buildInfo is what `intelliauth version` reports: enough to tell which
// source and toolchain a running binary came from when someone files a bug.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// Modified is true when the toolchain recorded uncommitted changes
	// (vcs.modified); the build script's stamped commit says nothing of it.
	Modified  bool   `json:"modified,omitempty"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// unknown is shown for what neither the stamp nor the toolchain recorded.
const unknown = "unknown"

// currentBuild is the running binary's build information.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return buildOf(buildInfo{Version: version, Commit: commit, Date: date}, bi)
}

// buildOf fills what stamped lacks from the toolchain's record bi (nil when
// the binary has none): the module version of `go install …@vX.Y.Z`, and
// the vcs.revision / vcs.time / vcs.modified settings that `go build` writes
// inside a git checkout (unless -buildvcs=false). A stamp always wins, since
// a release is built from a clean checkout on purpose. Without either the
// version is "dev"; vcs.time is the commit's time, not the build's, which is
// still the date that identifies the source.
func buildOf(stamped buildInfo, bi *debug.BuildInfo) buildInfo {
	b := stamped
	b.GoVersion = runtime.Version()
	b.Platform = runtime.GOOS + "/" + runtime.GOARCH
	vcs := map[string]string{}
	if bi != nil {
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			vcs[s.Key] = s.Value
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = vcs["vcs.revision"]
		b.Modified = vcs["vcs.modified"] == "true"
	}
	if b.Commit == "" {
		b.Commit = unknown
	}
	if b.Date == "" {
		b.Date = vcs["vcs.time"]
	}
	if b.Date == "" {
		b.Date = unknown
	}
	return b
}

// write prints the build information as aligned "key value" lines, the
// first of which is also what `intelliauth --version` users expect.
func (b buildInfo) write(w io.Writer) {
	fmt.Fprintf(w, "intelliauth %s\n", b.Version)
	commit := b.Commit
	if b.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "  commit  %s\n", commit)
	fmt.Fprintf(w, "  date    %s\n", b.Date)
	fmt.Fprintf(w, "  go      %s %s\n", b.GoVersion, b.Platform)
}

// runVersion prints the version, commit, build date and Go version; `intelliauth
// --version` is the same command.
func runVersion(_ context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("version", "version [--output text|json]")
	output := fs.String("output", "text", "output format: text or json")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	b := currentBuild()
	switch *output {
	case "text":
		b.write(c.stdout)
		return nil
	case "json":
		return writeJSON(c.stdout, b)
	default:
		return fmt.Errorf("%w: --output must be text or json, not %q", errUsage, *output)
	}
}
