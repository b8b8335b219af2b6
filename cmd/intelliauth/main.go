package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// SIGINT/SIGTERM cancel ctx; serve then shuts down gracefully (finishing
	// in-flight requests and flushing the audit log). A second signal kills
	// the process the usual way, because stop restores default handling.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code. Tests
// call it (through cli) instead of building and exec'ing the binary.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr, lookupEnv: os.LookupEnv, setGCPercent: debug.SetGCPercent}
	return c.run(ctx, args)
}
