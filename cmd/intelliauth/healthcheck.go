package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/intelliauth/intelliauth/internal/config"
)

// runHealthcheck asks a node's /readyz and returns nil (exit 0) when it
// answers 2xx, an error (exit 1) otherwise. It exists for container images
// without a shell or curl (the Dockerfile's HEALTHCHECK runs the binary
// itself); it is a plain HTTP client and touches neither the database nor
// the master key.
func runHealthcheck(ctx context.Context, c *cli, args []string) error {
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	fs := c.newFlagSet("healthcheck", "healthcheck [--url URL] [--timeout 5s]")
	def, defErr := readyURL(cfg.Addr, cfg.TLSCert != "")
	target := fs.String("url", def, "readiness URL to ask (default: /readyz on the loopback side of --addr / $"+config.EnvAddr+")")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if *target == "" {
		return defErr
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --url %q must be an absolute http(s) URL such as http://127.0.0.1:8080/readyz", errUsage, *target)
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", u, err)
	}
	client := &http.Client{
		// A redirect is not readiness: report it instead of following it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s is not ready: %s", u, unreachableReason(err, *timeout))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("%s is not ready: it answered %s", u, resp.Status)
		if b := printable(string(body)); b != "" {
			msg += " " + b
		}
		return errors.New(msg)
	}
	fmt.Fprintf(c.stdout, "ready: %s answered %s\n", u, resp.Status)
	return nil
}

// readyURL is the /readyz URL of a node listening on addr, reached from the
// same machine: an unspecified host (":8080", "0.0.0.0:8080", "[::]:8080",
// as in a container) becomes the loopback address of its family.
func readyURL(addr string, tls bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("addr %q is not host:port, so the readiness URL cannot be derived: pass --url", addr)
	}
	switch ip, err := netip.ParseAddr(host); {
	case host == "":
		host = "127.0.0.1"
	case err == nil && ip.IsUnspecified() && ip.Is4():
		host = "127.0.0.1"
	case err == nil && ip.IsUnspecified():
		host = "::1"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: "/readyz"}).String(), nil
}

// unreachableReason says in a few words why no answer came, with the way
// out where there is one; never the whole error chain.
func unreachableReason(err error, timeout time.Duration) string {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is serve running and listening there? pass --url or set " + config.EnvAddr + ")"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname):
		return "the server's certificate is not trusted by this machine for that name (set SSL_CERT_FILE, or pass --url with the certificate's name)"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return printable(ue.Err.Error())
	}
	return printable(err.Error())
}

// printable keeps a short, single-line, printable-ASCII excerpt of s for an
// error message (a response body or an error text from elsewhere).
func printable(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
		if b.Len() >= 200 {
			b.WriteString("...")
			break
		}
	}
	return b.String()
}
