package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The docs test: the shell blocks of README.md and docs/*.md that a reader
// copies are run against a real demo server, so that a copied command
// never fails. CONTRIBUTING.md states the convention:
//
//   - A block is runnable when its fence's info string is "sh test" (or
//     "bash test"): ```sh test. Renderers highlight it as sh; the second
//     word is for this test alone. Other blocks are never run.
//   - The blocks of one file run in order, in one bash (set -euo pipefail),
//     so a block may use the variables of an earlier one, against a fresh
//     `serve --demo` of that file's own, from a working directory whose
//     data/ is the demo's (as a reader's is after `go run ./cmd/intelliauth
//     serve --demo` in the repository), with the built binary first on
//     PATH as `intelliauth`.
//   - docRewrites is the one place a block is changed before it runs: the
//     demo's default address becomes the test server's.

// docRewrites is how a documented command is changed to run against the
// test's demo server on addr (127.0.0.1:port, whose issuer names
// localhost:port, as the demo's names localhost:8080): the default port
// becomes the test's, under either host name — so a command that names
// the issuer by the wrong one fails here as it would for a reader — and
// `go run ./cmd/intelliauth` becomes the built binary.
func docRewrites(addr string) *strings.Replacer {
	_, port, _ := strings.Cut(addr, ":")
	return strings.NewReplacer(
		"localhost:8080", "localhost:"+port,
		"127.0.0.1:8080", "127.0.0.1:"+port,
		"go run ./cmd/intelliauth ", "intelliauth ",
	)
}

// docBlock is one runnable block: where it is and what it says.
type docBlock struct {
	file string // relative to the repository
	line int    // of the opening fence
	text string
}

// runnableFence reports whether a fence line opens a runnable block: a
// shell language and the word "test" in its info string.
func runnableFence(line string) bool {
	info, ok := strings.CutPrefix(strings.TrimSpace(line), "```")
	f := strings.Fields(info)
	return ok && len(f) >= 2 && (f[0] == "sh" || f[0] == "bash") && slices.Contains(f[1:], "test")
}

// runnableBlocks returns the runnable blocks of a Markdown file, in order.
func runnableBlocks(root, file string) ([]docBlock, error) {
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	var out []docBlock
	var cur *docBlock
	inFence := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fence := strings.HasPrefix(strings.TrimSpace(line), "```")
		switch {
		case fence && !inFence:
			inFence = true
			if runnableFence(line) {
				cur = &docBlock{file: file, line: n}
			}
		case fence && inFence:
			inFence = false
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if inFence {
		return nil, fmt.Errorf("%s: a code block is not closed", file)
	}
	return out, sc.Err()
}

// docBlockMarker starts each block's output, so that a failure names its
// block.
const docBlockMarker = "### docs test: block "

// runDocBlocks runs blocks in order in one bash in dir, with env, and
// returns an error naming the block that failed, with its output.
func runDocBlocks(ctx context.Context, dir string, env []string, rw *strings.Replacer, blocks []docBlock) (string, error) {
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, b := range blocks {
		fmt.Fprintf(&script, "echo '%s%s:%d'\n%s\n", docBlockMarker, b.file, b.line, rw.Replace(b.text))
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err == nil {
		return string(out), nil
	}
	// The block that failed is the last one that started.
	at := strings.LastIndex(string(out), docBlockMarker)
	if at < 0 {
		return string(out), fmt.Errorf("the blocks did not start (%w):\n%s", err, out)
	}
	where, rest, _ := strings.Cut(string(out[at+len(docBlockMarker):]), "\n")
	var text string
	for _, b := range blocks {
		if fmt.Sprintf("%s:%d", b.file, b.line) == where {
			text = rw.Replace(b.text)
		}
	}
	return string(out), fmt.Errorf("the block at %s failed (%w):\n%s\noutput:\n%s", where, err, text, rest)
}

// docFiles are the Markdown files whose runnable blocks the test runs:
// README.md and docs/*.md.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range more {
		rel, _ := filepath.Rel(root, m)
		files = append(files, rel)
	}
	return files
}

// demoForDocs starts `serve --demo` in a fresh directory, as a reader
// would in the repository, and returns the directory and the address.
func demoForDocs(t *testing.T, bin string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, bin, nil, func(c *exec.Cmd) { c.Dir = dir }, "serve", "--demo", "--addr", addr, "--log-level", "error")
	waitReady(t, p, addr)
	return dir, addr
}

// docEnv is the environment of the blocks: the test's own without
// INTELLIAUTH_* settings, the binary first on PATH, a HOME of the test's.
func docEnv(t *testing.T, bin string) []string {
	t.Helper()
	var env []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir())
}

// TestDocsCommands runs the runnable blocks of README.md and docs/*.md,
// each file against a fresh demo server of its own.
func TestDocsCommands(t *testing.T) {
	bin := buildBinary(t)
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the documented commands use %s, which is not installed", tool)
		}
	}
	root := filepath.Join("..", "..")
	env := docEnv(t, bin)
	total := 0
	for _, file := range docFiles(t, root) {
		blocks, err := runnableBlocks(root, file)
		if err != nil {
			t.Fatal(err)
		}
		if len(blocks) == 0 {
			continue
		}
		total += len(blocks)
		t.Run(file, func(t *testing.T) {
			// Each file has its own server: they can run side by side.
			t.Parallel()
			dir, addr := demoForDocs(t, bin)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			out, err := runDocBlocks(ctx, dir, env, docRewrites(addr), blocks)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			t.Logf("output (go test -v shows it):\n%s", out)
		})
	}
	if total < 10 {
		t.Fatalf("%d runnable blocks in README.md and docs/*.md; the commands a reader copies are marked ```sh test (CONTRIBUTING.md)", total)
	}

	// The test can fail: a marked block whose command fails fails it, and
	// the failure names the block and shows its output.
	t.Run("a failing block fails", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		md := "# Doc\n\n```sh test\nintelliauth version\n```\n\n```sh\nfalse\n```\n\n```sh test\nintelliauth app get no-such-app\necho never\n```\n"
		if err := os.WriteFile(filepath.Join(dir, "doc.md"), []byte(md), 0o600); err != nil {
			t.Fatal(err)
		}
		blocks, err := runnableBlocks(dir, "doc.md")
		if err != nil || len(blocks) != 2 || blocks[1].line != 11 {
			t.Fatalf("runnable blocks of the sample: %+v, %v; want the two marked ones", blocks, err)
		}
		demo, addr := demoForDocs(t, bin)
		out, err := runDocBlocks(t.Context(), demo, env, docRewrites(addr), blocks)
		if err == nil || !strings.Contains(err.Error(), "the block at doc.md:11 failed") || !strings.Contains(err.Error(), "no-such-app") ||
			strings.Contains(out, "never") {
			t.Fatalf("a failing command must fail the run and name its block: %v\n%s", err, out)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("the error wraps the shell's exit: %v", err)
		}
	})
}

// TestRunnableFence: which fences open a runnable block.
func TestRunnableFence(t *testing.T) {
	for line, want := range map[string]bool{
		"```sh test": true, "```bash test": true, "  ```sh test": true, "```sh  test extra": true,
		"```sh": false, "```": false, "```json test": false, "```test": false, "```shell": false, "text ```sh test": false,
	} {
		if got := runnableFence(line); got != want {
			t.Errorf("runnableFence(%q) = %v, want %v", line, got, want)
		}
	}
}
