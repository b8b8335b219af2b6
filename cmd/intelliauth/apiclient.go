package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/config"
	"github.com/intelliauth/intelliauth/internal/model"
)

// The management commands (scope, api, app, user, role, group, settings,
// explain, audit, report) are clients of the tenant's platform API: they get an
// access token with client credentials (audience: the platform API, scope:
// what the command needs) and call /api/v1 over HTTP. So the CLI goes
// through the same checks, audit and cache invalidation as any admin tool,
// and needs no database access or master key.

// Environment variables of the platform API connection.
const (
	envIssuer           = "INTELLIAUTH_ISSUER"
	envClientID         = "INTELLIAUTH_CLIENT_ID"
	envClientSecret     = "INTELLIAUTH_CLIENT_SECRET"
	envClientSecretFile = "INTELLIAUTH_CLIENT_SECRET_FILE"
	envCAFile           = "INTELLIAUTH_CA_FILE"
)

// apiTimeout bounds each HTTP exchange with the server.
const apiTimeout = 30 * time.Second

// maxAPIResponse bounds what is read of one response (an audit export is
// streamed instead).
const maxAPIResponse = 32 << 20

// connFlags are the flags naming the server and the admin client.
type connFlags struct {
	issuer, clientID, secretFile, caFile string
	cfg                                  config.Config
}

// register adds the connection flags; their defaults come from the
// environment, so flags override it.
func (f *connFlags) register(c *cli, fs *flag.FlagSet) error {
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	f.cfg = cfg
	env := func(k string) string { v, _ := c.lookupEnv(k); return v }
	fs.StringVar(&f.issuer, "issuer", env(envIssuer), "issuer URL of the tenant, e.g. https://auth.example.com/t/acme [$"+envIssuer+"]")
	fs.StringVar(&f.clientID, "client-id", env(envClientID), "client_id of an admin client (m2m, allowed the platform scopes) [$"+envClientID+"]")
	fs.StringVar(&f.secretFile, "client-secret-file", env(envClientSecretFile), "file holding the client secret (mode 0600); or set $"+envClientSecret+" [$"+envClientSecretFile+"]")
	fs.StringVar(&f.caFile, "ca-file", env(envCAFile), "PEM file of the CA that signed the server's certificate, trusted besides the system's [$"+envCAFile+"]")
	fs.StringVar(&f.cfg.DataDir, "data-dir", f.cfg.DataDir, "data directory whose demo.json gives the demo's admin-cli credentials when none are set [$"+config.EnvDataDir+"]")
	return nil
}

// conn is a resolved connection: where to call and as whom.
type conn struct {
	issuer, clientID, secret string
	// allowHTTP lets the secret go over http:// off loopback
	// (INTELLIAUTH_ALLOW_INSECURE_ISSUER, a private network).
	allowHTTP bool
	// roots, when not nil, are the system's CAs plus --ca-file's.
	roots *x509.CertPool
}

// checkTransport refuses to send the client secret in clear text over a
// network: https, or http to a loopback host, unless allowed.
func (cn conn) checkTransport(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %q is not a URL: %w", what, raw, err)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && (config.IsLoopbackHost(u.Hostname()) || cn.allowHTTP)) {
		return nil
	}
	return fmt.Errorf("%w: %s %s is %s:// off loopback, which would send the client secret in clear text; use https (or set %s for a private network)",
		errUsage, what, raw, u.Scheme, config.EnvAllowInsecureIssuer)
}

// credentialsHelp says how to get credentials for the API commands.
const credentialsHelp = "give --issuer and --client-id, with the secret in $" + envClientSecret + " or --client-secret-file " +
	"(`intelliauth tenant create` prints them; `intelliauth tenant admin-client <tenant>` makes new ones), " +
	"or run `intelliauth serve --demo`, whose demo.json holds the demo's " + admin.DefaultAdminClientID + " credentials"

// resolve settles the connection: flags, then the environment, then — when
// nothing at all is set — the demo's admin-cli from <data-dir>/demo.json.
func (f *connFlags) resolve(c *cli) (conn, error) {
	cn := conn{issuer: strings.TrimRight(f.issuer, "/"), clientID: f.clientID}
	switch {
	case f.secretFile != "":
		s, err := readOwnerOnlyFile(f.secretFile, "client secret file")
		if err != nil {
			return conn{}, err
		}
		cn.secret = s
	default:
		cn.secret, _ = c.lookupEnv(envClientSecret)
	}
	if cn.issuer == "" && cn.clientID == "" && cn.secret == "" {
		path := f.cfg.DemoFile()
		d, ok, err := readDemoCredentials(path)
		if err != nil {
			return conn{}, err
		}
		if !ok {
			return conn{}, fmt.Errorf("%w: no platform API credentials: %s", errUsage, credentialsHelp)
		}
		// Say where the credentials came from: a command may send a
		// password to that issuer.
		fmt.Fprintf(c.stderr, "using the demo's %s credentials from %s (issuer %s)\n", d.clientID, path, d.issuer)
		cn = d
	}
	var missing []string
	for _, m := range []struct{ v, name string }{{cn.issuer, "--issuer"}, {cn.clientID, "--client-id"}, {cn.secret, "the client secret"}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return conn{}, fmt.Errorf("%w: missing %s: %s", errUsage, strings.Join(missing, " and "), credentialsHelp)
	}
	u, err := url.Parse(cn.issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return conn{}, fmt.Errorf("%w: --issuer %q is not an http(s) URL without query or fragment", errUsage, cn.issuer)
	}
	// The client secret travels to the token endpoint: never in clear text
	// over a network, the same rule serve applies to its issuer.
	cn.allowHTTP = f.cfg.AllowInsecureIssuer
	if err := cn.checkTransport("--issuer", cn.issuer); err != nil {
		return conn{}, err
	}
	if f.caFile != "" {
		if cn.roots, err = loadCAFile(f.caFile); err != nil {
			return conn{}, err
		}
	}
	return cn, nil
}

// loadCAFile returns the system's CAs plus the certificates of a PEM file
// (--ca-file): a server whose certificate a private CA signed.
func loadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca-file %s cannot be read (%s)", path, rootCause(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

// reachError says why a call to the server did not get an answer: an
// untrusted certificate with the way to trust it, or the server not
// running.
func reachError(issuer string, err error) error {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return &saidError{"the server's certificate is not trusted by this machine; pass --ca-file (or " + envCAFile + ") with the CA that signed it, or set SSL_CERT_FILE", err}
	case errors.As(err, &host):
		return &saidError{fmt.Sprintf("the server's certificate is not for %s; give --issuer with a name the certificate is for", host.Host), err}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &saidError{"the server's certificate has expired or is not valid yet; renew it, or check this machine's clock", err}
	case errors.As(err, &invalid):
		return &saidError{"the server's certificate is not valid for serving this name (" + invalid.Detail + "); have it reissued", err}
	}
	return fmt.Errorf("cannot reach %s (is the server running? start it with `intelliauth serve`): %w", issuer, err)
}

// readDemoCredentials returns the demo's admin client from demo.json, if
// the file is there and holds it. The file is trusted only as serve --demo
// writes it — readable by its owner alone, naming a loopback issuer — so a
// demo.json that came from elsewhere (a clone, a download) cannot point
// the CLI, and the passwords some commands send, at another server.
func readDemoCredentials(path string) (conn, bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return conn{}, false, nil
	}
	if !ownerOnly(st) {
		return conn{}, false, fmt.Errorf("%s is readable by others (mode %#o), so its credentials are not used: serve --demo writes it 0600; or give --issuer and --client-id", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return conn{}, false, nil
	}
	var d admin.Demo
	if json.Unmarshal(b, &d) != nil {
		return conn{}, false, nil
	}
	u, err := url.Parse(d.Issuer)
	if err != nil || !config.IsLoopbackHost(u.Hostname()) {
		return conn{}, false, fmt.Errorf("%s names the issuer %q, which is not on this machine's loopback, so its credentials are not used; give --issuer and --client-id", path, d.Issuer)
	}
	for _, a := range d.Applications {
		if a.ClientID == admin.DefaultAdminClientID && a.ClientSecret != "" {
			return conn{issuer: d.Issuer, clientID: a.ClientID, secret: a.ClientSecret}, true, nil
		}
	}
	return conn{}, false, nil
}

// readOwnerOnlyFile returns the first line of a regular file that only its
// owner may read: it holds a secret.
func readOwnerOnlyFile(path, what string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if !ownerOnly(st) {
		return "", fmt.Errorf("%s %s is readable by others (mode %#o): chmod 600 it first", what, path, st.Mode().Perm())
	}
	return firstLine(f)
}

// apiClient calls one tenant's platform API with one access token.
type apiClient struct {
	base  string // issuer + /api/v1
	hc    *http.Client
	token string
	// cn, tokenURL and scopes are what the token was asked with; widen
	// asks again with more.
	cn       conn
	tokenURL string
	scopes   []string
}

// dialAPI discovers the token endpoint and gets an access token for the
// platform API carrying scopes.
func dialAPI(ctx context.Context, cn conn, scopes []string) (*apiClient, error) {
	// No redirects: the bearer token and the client secret go only where
	// the issuer's metadata says.
	hc := &http.Client{Timeout: apiTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if cn.roots != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: cn.roots, MinVersion: tls.VersionTLS12}
		hc.Transport = tr
	}
	tokenURL, err := discoverTokenEndpoint(ctx, hc, cn.issuer)
	if err != nil {
		return nil, err
	}
	if err := cn.checkTransport("the token endpoint", tokenURL); err != nil {
		return nil, err
	}
	a := &apiClient{base: cn.issuer + admin.PlatformAPIPath, hc: hc, cn: cn, tokenURL: tokenURL, scopes: scopes}
	if err := a.fetchToken(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// fetchToken gets a client-credentials token for the platform API
// carrying a.scopes.
func (a *apiClient) fetchToken(ctx context.Context) error {
	cc := clientcredentials.Config{
		ClientID: a.cn.clientID, ClientSecret: a.cn.secret, TokenURL: a.tokenURL, Scopes: a.scopes,
		EndpointParams: url.Values{"audience": {a.base}}, AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, a.hc))
	if err != nil {
		return tokenError(a.cn.clientID, a.scopes, err)
	}
	a.token = tok.AccessToken
	return nil
}

// widen replaces the token by one that also carries missing, the scopes a
// 403 insufficient_scope named, and reports whether that adds any. The
// server lets a caller grant platform scopes (an allowlist, a role, a
// membership), or take over an application or user holding them, only when
// its own token carries them (docs/platform-api.md): a command asks for its
// route's scope first and for those only when a change needs them. If the
// admin client is not allowed them, the token request says so.
func (a *apiClient) widen(ctx context.Context, missing string) (bool, error) {
	var more []string
	for _, s := range strings.Fields(missing) {
		if !slices.Contains(a.scopes, s) && !slices.Contains(more, s) {
			more = append(more, s)
		}
	}
	if len(more) == 0 {
		return false, nil
	}
	a.scopes = append(slices.Clone(a.scopes), more...)
	return true, a.fetchToken(ctx)
}

// discoverTokenEndpoint reads the issuer's OpenID Provider metadata and
// checks that it names the same issuer (OpenID Connect Discovery 1.0 §4.3).
func discoverTokenEndpoint(ctx context.Context, hc *http.Client, issuer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", reachError(issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery at %s answered %s: is %s the issuer of a tenant?", req.URL, resp.Status, issuer)
	}
	var md struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md); err != nil {
		return "", fmt.Errorf("discovery at %s: %w", req.URL, err)
	}
	if md.Issuer != issuer {
		return "", fmt.Errorf("discovery at %s names the issuer %q, not %q: give --issuer exactly as the server publishes it", req.URL, md.Issuer, issuer)
	}
	if md.TokenEndpoint == "" {
		return "", fmt.Errorf("discovery at %s has no token_endpoint", req.URL)
	}
	return md.TokenEndpoint, nil
}

// tokenError explains a refused token request with what to do about it.
func tokenError(clientID string, scopes []string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode == "" {
		return fmt.Errorf("get an access token for the platform API: %w", err)
	}
	hint := ""
	switch re.ErrorCode {
	case "invalid_client":
		hint = "check the client ID and secret; `intelliauth tenant admin-client <tenant>` gives the admin client a new secret"
	case "invalid_scope":
		hint = fmt.Sprintf("this command needs %s; an admin can allow it: intelliauth app allow %s %s", strings.Join(scopes, " "), clientID, strings.Join(scopes, " "))
	case "unauthorized_client":
		hint = "the CLI needs an m2m application (client credentials)"
	}
	msg := fmt.Sprintf("the token endpoint refused client %s: %s", clientID, re.ErrorCode)
	if re.ErrorDescription != "" {
		msg += ": " + re.ErrorDescription
	}
	if hint != "" {
		msg += "\n  " + hint
	}
	return errors.New(msg)
}

// apiResponse is one answer of the API.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// apiProblem is an RFC 7807 problem the API answered.
type apiProblem struct {
	Status int             `json:"status"`
	Code   string          `json:"error"`
	Detail string          `json:"detail"`
	Errors []model.Problem `json:"errors"`
	Scope  string          `json:"scope"`
}

func (p *apiProblem) Error() string {
	return fmt.Sprintf("%s (%d %s)", p.Detail, p.Status, p.Code)
}

// request is one call: a path under /api/v1, its query, a JSON body and an
// If-Match.
type request struct {
	method, path string
	query        url.Values
	body         any
	ifMatch      string
}

// send makes a call and returns the response with its body open; the
// caller closes it. A problem answer is returned as *apiProblem. A 403
// insufficient_scope naming scopes the token did not ask for is retried
// once with a token that carries them (widen): the refusal wrote nothing.
func (a *apiClient) send(ctx context.Context, r request) (*http.Response, error) {
	resp, err := a.sendOnce(ctx, r)
	var ap *apiProblem
	if errors.As(err, &ap) && ap.Status == http.StatusForbidden && ap.Code == "insufficient_scope" {
		wider, werr := a.widen(ctx, ap.Scope)
		if werr != nil {
			// The server's sentence says why; the token endpoint's, why
			// the admin client cannot carry what it needs.
			return nil, fmt.Errorf("%s\n  %w", ap.Detail, werr)
		}
		if wider {
			return a.sendOnce(ctx, r)
		}
	}
	return resp, err
}

// sendOnce is send without the retry.
func (a *apiClient) sendOnce(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := a.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	p := &apiProblem{Status: resp.StatusCode}
	if json.Unmarshal(b, p) != nil || p.Detail == "" {
		return nil, fmt.Errorf("%s %s answered %s: %.200s", r.method, r.path, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil, p
}

// do makes a call and reads the whole answer.
func (a *apiClient) do(ctx context.Context, r request) (*apiResponse, error) {
	resp, err := a.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", r.method, r.path, err)
	}
	if len(b) > maxAPIResponse {
		return nil, fmt.Errorf("%s %s: the answer is larger than %d MiB", r.method, r.path, maxAPIResponse>>20)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// call makes a call and decodes its JSON answer into out (when not nil).
func (a *apiClient) call(ctx context.Context, r request, out any) (*apiResponse, error) {
	res, err := a.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(res.body, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
		}
	}
	return res, nil
}

// ifMatch is the If-Match for --version: the version's entity tag, or *
// ("whatever is stored") for 0.
func ifMatch(version int64) string {
	if version == 0 {
		return "*"
	}
	return fmt.Sprintf(`"v%d"`, version)
}

// listPage is the envelope of a list answer.
type listPage[T any] struct {
	Items   []T `json:"items"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

// pages is the number of pages of a list (at least 1).
func (l listPage[T]) pages() int {
	if l.PerPage < 1 {
		return 1
	}
	return max((l.Total+l.PerPage-1)/l.PerPage, 1)
}

// ownerOnly reports whether neither group nor others may access the file.
// Windows has no POSIX permission bits to check (as token's master key
// file check says).
func ownerOnly(fi os.FileInfo) bool {
	return runtime.GOOS == "windows" || fi.Mode().Perm()&0o077 == 0
}
