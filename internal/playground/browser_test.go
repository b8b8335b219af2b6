package playground_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ScreenshotsEnv names a directory; when set, TestPlaygroundInChromium saves
// a full-page PNG of every step there.
const ScreenshotsEnv = "INTELLIAUTH_SCREENSHOTS"

// chromium finds a Chromium or Chrome binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestPlaygroundInChromium runs the whole flow in a real headless browser:
// the start page, the login form, the consent form, the token page and the
// sign-out, clicking what a person would click. It enforces what httptest
// clients do not: the pages' Content-Security-Policy (form-action on the
// redirects after each POST), cookies' Path and SameSite, and rendering.
// It skips when no Chromium is installed (Debian: apt-get install chromium).
func TestPlaygroundInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium on PATH (apt-get install chromium)")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e, demo := demoEnv(t)
	alice, _ := demo.User("alice")
	dir := os.Getenv(ScreenshotsEnv)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(900, 1200),
		chromedp.Flag("headless", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if dir == "" {
				return nil
			}
			png, err := chromedp.FullScreenshot(100)(ctx, t)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		})
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	var startText, consentText, resultText, outText, url string
	err := chromedp.Do(ctx,
		chromedp.Navigate(demo.Playground),
		chromedp.WaitVisible(css(`a.button`)),
		into(&startText, chromedp.Text(css(`main`))),
		shot("1-playground-start"),
		chromedp.Click(css(`a.button`)),
		chromedp.WaitVisible(css(`#password`)),
		into(&url, chromedp.Location()),
		shot("2-login"),
		chromedp.SendKeys(css(`#login`), alice.Username),
		chromedp.SendKeys(css(`#password`), alice.Password),
		chromedp.Click(css(`button[type=submit]`)),
		chromedp.WaitVisible(css(`button[value=allow]`)),
		into(&consentText, chromedp.Text(css(`main`))),
		shot("3-consent"),
		chromedp.Click(css(`button[value=allow]`)),
		chromedp.WaitVisible(css(`pre.raw`)),
		into(&resultText, chromedp.Text(css(`main`))),
		shot("4-tokens"),
		chromedp.Click(css(`a.button.secondary`)),
		chromedp.WaitVisible(css(`p.notice`)),
		into(&outText, chromedp.Text(css(`main`))),
		shot("5-signed-out"),
	)
	if err != nil {
		t.Fatalf("browser flow: %v\nlast texts:\n%s\n%s\n%s", err, startText, consentText, resultText)
	}
	if !strings.HasPrefix(url, e.URL+"/t/banking/login") {
		t.Errorf("the sign-in link led to %s", url)
	}
	for _, c := range []struct{ page, text, want string }{
		{"start", startText, "Sign in with banking-spa"},
		{"consent", consentText, "Read transactions"},
		{"result", resultText, "Signed in as Alice Adams"},
		{"result", resultText, `"aud": "api.banking.example.com"`},
		{"signed out", outText, "You are signed out"},
	} {
		if !strings.Contains(c.text, c.want) {
			t.Errorf("%s page lacks %q:\n%s", c.page, c.want, c.text)
		}
	}
}

// into runs a and stores its value in dst.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		*dst, err = a(ctx, t)
		return err
	})
}
