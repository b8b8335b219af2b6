package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/config"
)

// benchOptions are bench's flags.
type benchOptions struct {
	issuer, clientID, clientSecret string
	audience, scope                string
	concurrency                    int
	duration, warmup, signDuration time.Duration
	demoFile                       string
	allowRemote                    bool
	output                         string
	// mode is what each request does: "token" (client credentials) or
	// "introspect" (RFC 7662 on one token fetched first).
	mode string
	// runs is how many measuring rounds (load, then signing) to take;
	// the figures reported are their medians.
	runs int
	// serverPID, when set, is the server process whose CPU time (utime +
	// stime from /proc/PID/stat) over each measuring window is divided by
	// the operations counted in it.
	serverPID int
}

// Bench modes.
const (
	benchToken      = "token"
	benchIntrospect = "introspect"
)

// BenchResult is what bench measured; --output json prints it. With several
// rounds, every figure is the median of the rounds' (each computed on its
// own), and Rounds holds them all.
type BenchResult struct {
	// Mode is "token" (client credentials) or "introspect"; in introspect
	// mode Tokens counts introspections answered active.
	Mode        string  `json:"mode"`
	TokenURL    string  `json:"token_url"`
	Concurrency int     `json:"concurrency"`
	Duration    string  `json:"duration"`
	Tokens      int64   `json:"tokens"`
	TokensPerS  float64 `json:"tokens_per_second"`
	// Errors counts failed requests by cause ("HTTP 401", "no access_token",
	// "transport"); they are not in Tokens nor in the latencies.
	Errors    map[string]int64 `json:"errors"`
	P50Ms     float64          `json:"p50_ms"`
	P99Ms     float64          `json:"p99_ms"`
	MaxMs     float64          `json:"max_ms"`
	Cores     int              `json:"cores"`
	SignsPerS float64          `json:"es256_signs_per_second"`
	Ratio     float64          `json:"ratio"`
	// ServerCPUMicros is the server's CPU time per successful operation in
	// the measuring window (utime + stime of --server-pid), 0 when no PID
	// was given. It survives a noisy machine better than throughput does.
	ServerCPUMicros float64 `json:"server_cpu_us_per_op,omitempty"`
	// ServerCores is that CPU time divided by the window: how many cores
	// the server kept busy.
	ServerCores float64      `json:"server_cores,omitempty"`
	Runs        int          `json:"runs"`
	Rounds      []BenchRound `json:"rounds,omitempty"`
	SampleBody  string       `json:"-"`
}

// BenchRound is one measuring round: the load, then the signing rate.
type BenchRound struct {
	Tokens          int64   `json:"tokens"`
	TokensPerS      float64 `json:"tokens_per_second"`
	P50Ms           float64 `json:"p50_ms"`
	P99Ms           float64 `json:"p99_ms"`
	MaxMs           float64 `json:"max_ms"`
	SignsPerS       float64 `json:"es256_signs_per_second"`
	Ratio           float64 `json:"ratio"`
	ServerCPUMicros float64 `json:"server_cpu_us_per_op,omitempty"`
	ServerCores     float64 `json:"server_cores,omitempty"`
}

func runBench(ctx context.Context, c *cli, args []string) error {
	var o benchOptions
	fs := c.newFlagSet("bench", "bench --url ISSUER --client-id ID --client-secret SECRET [flags] | bench --demo-file data/demo.json")
	fs.StringVar(&o.issuer, "url", "", "issuer URL of a running server, e.g. http://localhost:8080/t/banking")
	fs.StringVar(&o.clientID, "client-id", "", "client_id of a confidential client")
	fs.StringVar(&o.clientSecret, "client-secret", "", "its secret (prefer --demo-file or the environment: INTELLIAUTH_BENCH_CLIENT_SECRET)")
	fs.StringVar(&o.audience, "audience", "", "audience parameter")
	fs.StringVar(&o.scope, "scope", "", "scope parameter")
	fs.IntVar(&o.concurrency, "concurrency", 64, "concurrent clients, each on its own keep-alive connection")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to measure")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before measuring (connections, caches), not counted")
	fs.DurationVar(&o.signDuration, "sign-duration", 2*time.Second, "how long to measure the raw ES256 signing rate")
	fs.StringVar(&o.demoFile, "demo-file", "", "take --url, client and secret from a demo.json (reporting-job, api.banking.example.com, read:transactions)")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow a target that is not loopback")
	fs.StringVar(&o.output, "output", "table", "output format: table or json")
	fs.StringVar(&o.mode, "mode", benchToken, "what to measure: token (client credentials) or introspect (RFC 7662 on one token)")
	fs.IntVar(&o.runs, "runs", 1, "measuring rounds (load, then signing); figures are their medians")
	fs.IntVar(&o.serverPID, "server-pid", 0, "PID of the server on this machine: report its CPU µs per operation and cores used (from /proc/PID/stat)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if o.clientSecret == "" {
		if v, ok := c.lookupEnv("INTELLIAUTH_BENCH_CLIENT_SECRET"); ok {
			o.clientSecret = v
		}
	}
	if o.demoFile != "" {
		if err := o.fromDemo(); err != nil {
			return err
		}
	}
	tokenURL, err := o.validate()
	if err != nil {
		return err
	}
	res, err := bench(ctx, o, tokenURL)
	if err != nil {
		return err
	}
	if o.output == "json" {
		if err := writeJSON(c.stdout, res); err != nil {
			return err
		}
	} else {
		printBench(c.stdout, res)
	}
	if res.Tokens == 0 {
		return fmt.Errorf("no token was issued; first failing response: %s", res.SampleBody)
	}
	return nil
}

// fromDemo fills unset options from a demo.json written by serve --demo.
func (o *benchOptions) fromDemo() error {
	b, err := os.ReadFile(o.demoFile)
	if err != nil {
		return fmt.Errorf("read demo file: %w", err)
	}
	var d admin.Demo
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("demo file %s: %w", o.demoFile, err)
	}
	app, ok := d.App("reporting-job")
	if !ok {
		return fmt.Errorf("demo file %s has no reporting-job application", o.demoFile)
	}
	if o.issuer == "" {
		o.issuer = d.Issuer
	}
	if o.clientID == "" {
		o.clientID, o.clientSecret = app.ClientID, app.ClientSecret
	}
	if o.audience == "" {
		o.audience = "api.banking.example.com"
	}
	if o.scope == "" {
		o.scope = "read:transactions"
	}
	return nil
}

// validate checks the options and returns the token endpoint URL.
func (o *benchOptions) validate() (string, error) {
	var p []string
	if o.issuer == "" {
		p = append(p, "--url (or --demo-file) is required")
	}
	if o.clientID == "" || o.clientSecret == "" {
		p = append(p, "--client-id and --client-secret (or --demo-file) are required")
	}
	if o.concurrency < 1 || o.concurrency > 10000 {
		p = append(p, "--concurrency must be between 1 and 10000")
	}
	if o.duration <= 0 || o.signDuration <= 0 || o.warmup < 0 {
		p = append(p, "--duration and --sign-duration must be positive, --warmup not negative")
	}
	if o.output != "table" && o.output != "json" {
		p = append(p, "--output must be table or json")
	}
	if o.mode != benchToken && o.mode != benchIntrospect {
		p = append(p, "--mode must be token or introspect")
	}
	if o.runs < 1 || o.runs > 100 {
		p = append(p, "--runs must be between 1 and 100")
	}
	if o.serverPID < 0 {
		p = append(p, "--server-pid must be a process ID")
	} else if o.serverPID > 0 {
		if _, err := processCPU(o.serverPID); err != nil {
			p = append(p, fmt.Sprintf("--server-pid %d: %v", o.serverPID, err))
		}
	}
	var tokenURL string
	if o.issuer != "" {
		u, err := url.Parse(strings.TrimRight(o.issuer, "/"))
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			p = append(p, fmt.Sprintf("--url %q is not an http(s) URL", o.issuer))
		case !o.allowRemote && !config.IsLoopbackHost(u.Hostname()):
			// A load test against someone else's server is an attack.
			p = append(p, fmt.Sprintf("--url host %q is not loopback; pass --allow-remote to benchmark a server you run elsewhere", u.Hostname()))
		default:
			tokenURL = u.String() + "/oauth2/token"
		}
	}
	if len(p) > 0 {
		return "", fmt.Errorf("%w: %s", errUsage, strings.Join(p, "; "))
	}
	return tokenURL, nil
}

// bench takes o.runs measuring rounds and reports their medians.
func bench(ctx context.Context, o benchOptions, tokenURL string) (BenchResult, error) {
	res := BenchResult{Mode: o.mode, TokenURL: tokenURL, Concurrency: o.concurrency, Duration: o.duration.String(),
		Errors: map[string]int64{}, Cores: runtime.GOMAXPROCS(0), Runs: o.runs}
	form := url.Values{"grant_type": {"client_credentials"}}
	if o.audience != "" {
		form.Set("audience", o.audience)
	}
	if o.scope != "" {
		form.Set("scope", o.scope)
	}
	// The request is serialized once by net/http and replayed on each
	// worker's own keep-alive connection; responses are parsed by
	// http.ReadResponse. Like wrk, this keeps the load generator's own cost
	// small — net/http's client transport spends more CPU per request than
	// the server's token path, and both share this machine's cores.
	wire, target, err := requestBytes(tokenURL, form.Encode(), o.clientID, o.clientSecret)
	if err != nil {
		return res, err
	}
	ok := hasAccessToken
	if o.mode == benchIntrospect {
		// One token, introspected over and over by the same client.
		tok, err := fetchToken(ctx, wire, target)
		if err != nil {
			return res, err
		}
		introspectURL := strings.TrimSuffix(tokenURL, "/token") + "/introspect"
		res.TokenURL = introspectURL
		if wire, _, err = requestBytes(introspectURL, url.Values{"token": {tok}}.Encode(), o.clientID, o.clientSecret); err != nil {
			return res, err
		}
		ok = isActive
	}
	for range o.runs {
		r, err := benchRound(ctx, o, wire, target, ok, &res)
		if err != nil {
			return res, err
		}
		res.Rounds = append(res.Rounds, r)
	}
	med := func(f func(BenchRound) float64) float64 {
		v := make([]float64, len(res.Rounds))
		for i, r := range res.Rounds {
			v[i] = f(r)
		}
		return median(v)
	}
	res.TokensPerS = med(func(r BenchRound) float64 { return r.TokensPerS })
	res.Tokens = int64(med(func(r BenchRound) float64 { return float64(r.Tokens) }))
	res.P50Ms = med(func(r BenchRound) float64 { return r.P50Ms })
	res.P99Ms = med(func(r BenchRound) float64 { return r.P99Ms })
	res.MaxMs = med(func(r BenchRound) float64 { return r.MaxMs })
	res.SignsPerS = med(func(r BenchRound) float64 { return r.SignsPerS })
	res.Ratio = med(func(r BenchRound) float64 { return r.Ratio })
	res.ServerCPUMicros = med(func(r BenchRound) float64 { return r.ServerCPUMicros })
	res.ServerCores = med(func(r BenchRound) float64 { return r.ServerCores })
	if o.runs == 1 {
		res.Rounds = nil // the top-level figures are the round
	}
	return res, nil
}

// median returns the median of v (the mean of the middle two for an even
// count), 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// fetchToken gets one access token for the introspection benchmark.
func fetchToken(ctx context.Context, wire []byte, target benchTarget) (string, error) {
	c, err := dialBench(ctx, target)
	if err != nil {
		return "", fmt.Errorf("bench: connect: %w", err)
	}
	defer c.close()
	status, body, _, err := c.roundTrip(wire, nil)
	if err != nil {
		return "", fmt.Errorf("bench: token request: %w", err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("no token to introspect; the token endpoint answered HTTP %d %s", status, truncateBody(body))
	}
	return tr.AccessToken, nil
}

// benchRound drives concurrent requests for the warm-up and the measuring
// window, then measures the raw signing rate, and relates the two. Errors
// and the first failing body are added to res.
func benchRound(ctx context.Context, o benchOptions, wire []byte, target benchTarget, ok func([]byte) bool, res *BenchResult) (BenchRound, error) {
	var round BenchRound
	// The run is timed by wall-clock windows, not by cancelling requests:
	// a request cut off mid-flight would make the server log a spurious
	// failure. A response counts when it was both sent and received inside
	// the measuring window; requests in flight at its end finish unseen.
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	measureTo := measureFrom.Add(o.duration)
	var sample atomic.Value
	type worker struct {
		lat    []time.Duration
		errors map[string]int64
	}
	// The server's CPU is read at both ends of the measuring window.
	cpu := make(chan cpuSample, 1)
	if o.serverPID > 0 {
		go func() { cpu <- sampleCPU(ctx, o.serverPID, measureFrom, measureTo) }()
	}
	workers := make([]*worker, o.concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{lat: make([]time.Duration, 0, 4096), errors: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *benchConn
			defer func() { c.close() }()
			buf := make([]byte, 0, 4096)
			for ctx.Err() == nil {
				sent := time.Now()
				if !sent.Before(measureTo) {
					return
				}
				var cause string
				if c == nil {
					var derr error
					if c, derr = dialBench(ctx, target); derr != nil {
						if ctx.Err() != nil {
							return
						}
						w.errors["transport"]++
						time.Sleep(10 * time.Millisecond)
						continue
					}
				}
				status, body, keep, err := c.roundTrip(wire, buf[:0])
				buf = body
				switch {
				case err != nil:
					cause = "transport"
				case status != http.StatusOK:
					cause = fmt.Sprintf("HTTP %d", status)
				case !ok(body):
					if o.mode == benchIntrospect {
						cause = "not active"
					} else {
						cause = "no access_token"
					}
				}
				if err != nil || !keep {
					c.close()
					c = nil
				}
				if cause != "" && err == nil && sample.Load() == nil {
					sample.Store(fmt.Sprintf("HTTP %d %s", status, truncateBody(body)))
				}
				done := time.Now()
				if sent.Before(measureFrom) || done.After(measureTo) {
					continue // warm-up, or finished after the window
				}
				if cause != "" {
					w.errors[cause]++
					continue
				}
				w.lat = append(w.lat, done.Sub(sent))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return round, err
	}
	elapsed := o.duration

	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		for k, v := range w.errors {
			res.Errors[k] += v
		}
	}
	slices.Sort(all)
	round.Tokens = int64(len(all))
	round.TokensPerS = float64(round.Tokens) / elapsed.Seconds()
	if n := len(all); n > 0 {
		round.P50Ms = ms(all[n*50/100])
		round.P99Ms = ms(all[min(n-1, n*99/100)])
		round.MaxMs = ms(all[n-1])
	}
	if s, ok := sample.Load().(string); ok && res.SampleBody == "" {
		res.SampleBody = s
	}
	if o.serverPID > 0 {
		cs := <-cpu
		if cs.err != nil {
			return round, cs.err
		}
		if round.Tokens > 0 {
			round.ServerCPUMicros = float64(cs.cpu.Microseconds()) / float64(round.Tokens)
		}
		round.ServerCores = cs.cpu.Seconds() / cs.wall.Seconds()
	}
	signs, err := signRate(ctx, o.signDuration)
	if err != nil {
		return round, err
	}
	round.SignsPerS = signs
	if signs > 0 {
		round.Ratio = round.TokensPerS / signs
	}
	return round, nil
}

// cpuSample is a server's CPU time over a wall-clock window.
type cpuSample struct {
	cpu, wall time.Duration
	err       error
}

// sampleCPU reads pid's CPU time at from and at to.
func sampleCPU(ctx context.Context, pid int, from, to time.Time) cpuSample {
	wait := func(t time.Time) error {
		select {
		case <-time.After(time.Until(t)):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := wait(from); err != nil {
		return cpuSample{err: err}
	}
	c0, err := processCPU(pid)
	t0 := time.Now()
	if err != nil {
		return cpuSample{err: fmt.Errorf("bench: server CPU: %w", err)}
	}
	if err := wait(to); err != nil {
		return cpuSample{err: err}
	}
	c1, err := processCPU(pid)
	if err != nil {
		return cpuSample{err: fmt.Errorf("bench: server CPU (did the server exit?): %w", err)}
	}
	return cpuSample{cpu: c1 - c0, wall: time.Since(t0)}
}

// processCPU returns pid's user + system CPU time so far, from
// /proc/PID/stat (Linux only).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read the process's CPU time (Linux /proc only): %w", err)
	}
	return parseProcStat(string(b))
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's CPU
// times: 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)
// would need cgo).
const clockTicks = 100

// parseProcStat returns utime + stime (fields 14 and 15, proc(5)) of a
// /proc/PID/stat line. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses, so fields are counted after the
// last ')'.
func parseProcStat(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat line %.60q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %.60q", line)
	}
	var total int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("unexpected CPU time %q in /proc stat", s)
		}
		total += v
	}
	return time.Duration(total) * time.Second / clockTicks, nil
}

// hasAccessToken reports whether a token response carries a non-empty
// access_token; decoding the whole JSON would cost the client CPU that the
// server, on the same machine, should get.
func hasAccessToken(b []byte) bool {
	i := bytes.Index(b, []byte(`"access_token"`))
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(b[i+len(`"access_token"`):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	return len(rest) > 1 && rest[0] == '"' && rest[1] != '"'
}

// isActive reports whether an introspection response says "active":true.
func isActive(b []byte) bool {
	i := bytes.Index(b, []byte(`"active"`))
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(b[i+len(`"active"`):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return false
	}
	return bytes.HasPrefix(bytes.TrimLeft(rest[1:], " \t\r\n"), []byte("true"))
}

func truncateBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// signRate measures ES256 signatures per second with GOMAXPROCS goroutines
// signing SHA-256 digests of a JWT-sized input on P-256 for about d: the
// irreducible cost of an access token on this machine, measured in the same
// run as the server so the ratio compares like with like.
func signRate(ctx context.Context, d time.Duration) (float64, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0, err
	}
	payload := bytes.Repeat([]byte("eyJhbGciOiJFUzI1NiJ9."), 20) // ~440 bytes, like a header.claims
	n := runtime.GOMAXPROCS(0)
	var total atomic.Int64
	var wg sync.WaitGroup
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var signErr atomic.Value
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var count int64
			for sctx.Err() == nil {
				digest := sha256.Sum256(payload)
				if _, _, err := ecdsa.Sign(rand.Reader, key, digest[:]); err != nil {
					signErr.Store(err)
					return
				}
				count++
			}
			total.Add(count)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := signErr.Load().(error); ok {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(total.Load()) / elapsed.Seconds(), nil
}

func printBench(w io.Writer, r BenchResult) {
	what, unit := "tokens", "tokens/s"
	if r.Mode == benchIntrospect {
		what, unit = "introspected", "introspections/s"
	}
	fmt.Fprintf(w, "target        %s\n", r.TokenURL)
	fmt.Fprintf(w, "clients       %d concurrent, keep-alive\n", r.Concurrency)
	if r.Runs > 1 {
		fmt.Fprintf(w, "duration      %s × %d rounds (figures are medians)\n", r.Duration, r.Runs)
	} else {
		fmt.Fprintf(w, "duration      %s\n", r.Duration)
	}
	fmt.Fprintf(w, "%-13s %d (%.1f/s)\n", what, r.Tokens, r.TokensPerS)
	var errs []string
	for k, v := range r.Errors {
		errs = append(errs, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(errs)
	if len(errs) == 0 {
		errs = []string{"0"}
	}
	fmt.Fprintf(w, "errors        %s\n", strings.Join(errs, ", "))
	fmt.Fprintf(w, "latency       p50 %.2f ms   p99 %.2f ms   max %.2f ms\n", r.P50Ms, r.P99Ms, r.MaxMs)
	if r.ServerCPUMicros > 0 {
		fmt.Fprintf(w, "server CPU    %.0f µs per operation, %.2f cores busy\n", r.ServerCPUMicros, r.ServerCores)
	}
	fmt.Fprintf(w, "ES256 signing %.1f signs/s on %d cores (raw ecdsa.Sign, same run)\n", r.SignsPerS, r.Cores)
	fmt.Fprintf(w, "ratio         %.3f %s ÷ signs/s\n", r.Ratio, unit)
	if len(r.Rounds) > 1 {
		fmt.Fprintf(w, "rounds        %8s %8s %8s %10s %9s %7s\n", "ops/s", "p50 ms", "p99 ms", "CPU µs/op", "signs/s", "ratio")
		for _, x := range r.Rounds {
			fmt.Fprintf(w, "              %8.0f %8.2f %8.2f %10.0f %9.0f %7.3f\n", x.TokensPerS, x.P50Ms, x.P99Ms, x.ServerCPUMicros, x.SignsPerS, x.Ratio)
		}
	}
	if r.SampleBody != "" {
		fmt.Fprintf(w, "first error   %s\n", r.SampleBody)
	}
}

// benchTarget is where and how the bench connects.
type benchTarget struct {
	addr       string
	tls        bool
	serverName string
}

// requestBytes serializes the token request once, with net/http.
func requestBytes(tokenURL, body, clientID, secret string) ([]byte, benchTarget, error) {
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
	if err != nil {
		return nil, benchTarget{}, fmt.Errorf("bench: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, benchTarget{}, fmt.Errorf("bench: serialize request: %w", err)
	}
	t := benchTarget{addr: req.URL.Host, tls: req.URL.Scheme == "https", serverName: req.URL.Hostname()}
	if req.URL.Port() == "" {
		port := "80"
		if t.tls {
			port = "443"
		}
		t.addr = net.JoinHostPort(req.URL.Hostname(), port)
	}
	return b.Bytes(), t, nil
}

// benchConn is one keep-alive connection of one bench worker.
type benchConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialBench(ctx context.Context, t benchTarget) (*benchConn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if t.tls {
		tc := tls.Client(conn, &tls.Config{ServerName: t.serverName, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	return &benchConn{conn: conn, r: bufio.NewReaderSize(conn, 8192)}, nil
}

// roundTrip sends wire and reads one response into buf. keep says whether
// the connection may carry the next request.
func (c *benchConn) roundTrip(wire, buf []byte) (status int, body []byte, keep bool, err error) {
	_ = c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(wire); err != nil {
		return 0, buf, false, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, buf, false, err
	}
	b := bytes.NewBuffer(buf)
	_, err = io.Copy(b, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, b.Bytes(), !resp.Close, err
}

func (c *benchConn) close() {
	if c != nil {
		c.conn.Close()
	}
}
