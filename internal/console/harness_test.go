package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// ScreenshotsEnv names a directory; when set, the browser tests save a
// PNG of the pages they name there (docs/console/ holds the checked-in
// ones: INTELLIAUTH_SCREENSHOTS=$PWD/docs/console go test ./internal/console/).
const ScreenshotsEnv = "INTELLIAUTH_SCREENSHOTS"

// Widths the pages are tried at: a desktop, and a phone (PRODUCT.md §5,
// issue 10: "usable at 390 px").
const (
	Desktop = 1280
	Phone   = 390
)

// startConsole starts a node with the demo tenant "banking" seeded
// (alice: admin, bob: no platform scope).
func startConsole(t *testing.T) (*servertest.Env, admin.Demo) {
	t.Helper()
	// The console's tests run side by side (the browser ones spend most of
	// their time waiting for a page). Pause before the node starts, so a
	// paused test holds no database connections.
	parallel(t)
	e := servertest.Start(t)
	demo, err := e.Admin.SeedDemo(t.Context(), admin.CLI(), e.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	return e, demo
}

// consoleURL is the demo tenant's console.
func consoleURL(e *servertest.Env) string { return e.Issuer(admin.DemoTenantID) + "/console" }

// chromium finds a Chromium or Chrome binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// parallelTests holds the tests already made parallel.
var parallelTests sync.Map

// parallel marks t parallel, once.
func parallel(t *testing.T) {
	if _, again := parallelTests.LoadOrStore(t, true); !again {
		t.Parallel()
	}
}

// Browser is one headless Chromium tab on the console, which fails the test
// at its end if any page broke the Content-Security-Policy or threw.
type Browser struct {
	t     *testing.T
	Ctx   context.Context
	Env   *servertest.Env
	Demo  admin.Demo
	URL   string
	width int

	mu       sync.Mutex
	problems []string
}

// newBrowser opens a tab width pixels wide. It skips the test when there is
// no Chromium (apt-get install chromium) or in -short mode.
func newBrowser(t *testing.T, e *servertest.Env, demo admin.Demo, width int) *Browser {
	t.Helper()
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium on PATH (apt-get install chromium)")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if raceEnabled {
		t.Skip("a browser test under -race is slow and finds no race in the browser: run it without -race (CI does)")
	}
	parallel(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(width, 900),
		chromedp.Flag("headless", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	b := &Browser{t: t, Ctx: ctx, Env: e, Demo: demo, URL: consoleURL(e), width: width}
	// Start the tab (a phone's viewport for Phone: a window cannot be
	// made that narrow), then listen to its console before any page loads.
	start := []chromedp.Action[chromedp.Void]{}
	if width < Desktop {
		start = append(start, chromedp.EmulateViewport(int64(width), 844, chromedp.EmulateMobile, chromedp.EmulateScale(1)))
	}
	if err := chromedp.Do(ctx, start...); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		// Let late messages arrive, then stop the browser.
		time.Sleep(100 * time.Millisecond)
		cancel()
		cancelTab()
		cancelAlloc()
		<-done
		for _, p := range b.Problems() {
			t.Errorf("the browser reported: %s", p)
		}
	})
	return b
}

// Problems are the CSP violations and uncaught exceptions seen so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// forgetProblems drops the problems seen so far (for a test that causes
// one on purpose).
func (b *Browser) forgetProblems() {
	b.mu.Lock()
	b.problems = nil
	b.mu.Unlock()
}

// Do runs actions, failing the test with the page's text on error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.Ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v\non %s:\n%s", err, b.Location(), b.MainText())
	}
}

// Location is the tab's URL.
func (b *Browser) Location() string {
	u, _ := chromedp.Run(b.Ctx, chromedp.Location())
	return u
}

// MainText is the text of the page's main element ("" if none).
func (b *Browser) MainText() string {
	ctx, cancel := context.WithTimeout(b.Ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"), chromedp.NodeReady))
	return s
}

// Open navigates to path under the console and waits for its main element.
func (b *Browser) Open(path string) {
	b.t.Helper()
	b.Do(chromedp.Navigate(b.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
	b.mark()
}

// Shot saves a screenshot named name (when ScreenshotsEnv is set), with
// the width appended for a phone.
func (b *Browser) Shot(name string) {
	b.t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return
	}
	if b.width == Phone {
		name += "-phone"
	}
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// SignIn signs in to the console as the demo user username, through the
// tenant's login page, and waits for the console.
func (b *Browser) SignIn(username string) {
	b.t.Helper()
	u, ok := b.Demo.User(username)
	if !ok {
		b.t.Fatalf("no demo user %s", username)
	}
	b.Do(
		chromedp.Navigate(b.URL+"/"),
		chromedp.SendKeys("", u.Username, Named("textbox", "Username or email")),
		chromedp.SendKeys("", u.Password, Named("textbox", "Password")),
		chromedp.Click("", Named("button", "Sign in")),
	)
	b.awaitConsole()
	if !b.WaitURL(b.URL + "/") {
		b.t.Fatalf("after signing in as %s the browser is at %s:\n%s", username, b.Location(), b.MainText())
	}
}

// WaitURL waits (up to 10 s) until the tab's URL starts with prefix and its
// main element is there; it reports whether it happened.
func (b *Browser) WaitURL(prefix string) bool {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.HasPrefix(b.Location(), prefix) {
			ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
			err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("main")))
			cancel()
			return err == nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Submit clicks the button named name and waits for the page that answers
// to load (its URL starting with prefix).
func (b *Browser) Submit(name, prefix string) {
	b.t.Helper()
	b.mark()
	b.Do(chromedp.Click("", Named("button", name)))
	b.awaitLoad(name, prefix)
}

// SubmitWith runs act (a click, a key press) that sends a form, and waits
// as Submit does.
func (b *Browser) SubmitWith(what, prefix string, act chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.mark()
	b.Do(act)
	b.awaitLoad(what, prefix)
}

// mark tags the current document, so that awaitLoad can tell when another
// one replaced it (a form answered with a redirect to the same URL).
// DevTools' evaluation is not subject to the page's CSP.
func (b *Browser) mark() {
	_, _ = chromedp.Run(b.Ctx, chromedp.Evaluate[bool]("window.__iaOld = true"))
}

func (b *Browser) awaitLoad(what, prefix string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		fresh, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[bool]("window.__iaOld === undefined && document.readyState === 'complete'"))
		if fresh && strings.HasPrefix(b.Location(), prefix) {
			b.mark()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("after %q the browser is at %s:\n%s", what, b.Location(), b.MainText())
}

// Named finds the elements whose computed accessible role and name are
// role and name (Accessibility.queryAXTree) — as a person, or a screen
// reader, finds a control — ignoring nodes hidden from assistive
// technology. Use it as the query option of an action whose selector is "":
//
//	chromedp.Click("", Named("button", "Save"))
func Named(role, name string) chromedp.QueryOption {
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
			NodeID: n.NodeID, AccessibleName: name, Role: role,
		})
		if err != nil {
			return nil, fmt.Errorf("query %s %q: %w", role, name, err)
		}
		var backend []cdp.BackendNodeID
		for _, ax := range res.Nodes {
			if !ax.Ignored && ax.BackendDOMNodeID != 0 {
				backend = append(backend, ax.BackendDOMNodeID)
			}
		}
		if len(backend) == 0 {
			return nil, nil
		}
		pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend, dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: backend})
		if err != nil {
			return nil, fmt.Errorf("resolve %s %q: %w", role, name, err)
		}
		return pushed.NodeIDs, nil
	})
}

// Exists reports whether the page, as it stands, has a control with role
// and name. It looks once, without waiting (callers have waited for the
// page to load), so an absent control costs no timeout.
func (b *Browser) Exists(role, name string) bool {
	b.t.Helper()
	// AtLeast(0): answer with what is there, even nothing. (Not
	// DOM.getDocument: it would invalidate the node IDs chromedp tracks.)
	ids, err := chromedp.Run(b.Ctx, chromedp.QueryNodeIDs("", Named(role, name), chromedp.AtLeast(0)))
	if err != nil {
		b.t.Fatalf("look for %s %q: %v", role, name, err)
	}
	return len(ids) > 0
}

// value is the current value of the control with role and name.
func (b *Browser) value(role, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value("", Named(role, name)))
	if err != nil {
		b.t.Fatalf("value of %s %q: %v\n%s", role, name, err, b.MainText())
	}
	return v
}

// awaitConsole waits, after a sign-in, for the console page the redirects
// end at: they pass through /console/callback, itself under the console's
// URL, so a prefix alone is not enough.
func (b *Browser) awaitConsole() {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		loc := b.Location()
		ready, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[bool]("document.readyState === 'complete' && document.querySelector('main h1') !== null"))
		if ready && strings.HasPrefix(loc, b.URL+"/") && !strings.Contains(loc, "/callback") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
