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
	// SIGINT/SIGTERM cancel ctx, with the signal as its cause; serve then
	// shuts down gracefully (finishing in-flight requests and flushing the
	// audit log), and a command interrupted before it finished exits
	// 128+signal (130 for Ctrl-C). A second signal kills the process the
	// usual way, because signal.Stop restores the default handling.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := (<-sigc).(syscall.Signal)
		signal.Stop(sigc)
		if !ok {
			s = syscall.SIGINT
		}
		cancel(signalCause{s})
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigc)
	cancel(nil)
	os.Exit(code)
}

// signalCause is the cause of main's context when a signal cancelled it.
type signalCause struct{ sig syscall.Signal }

func (s signalCause) Error() string { return "received " + s.sig.String() }

// run executes one command line and returns the process exit code. Tests
// call it (through cli) instead of building and exec'ing the binary.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr, lookupEnv: os.LookupEnv, setGCPercent: debug.SetGCPercent}
	return c.run(ctx, args)
}
