package servertest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Browser is a cookie-keeping HTTP client that behaves like a user's
// browser: it follows the server's redirects itself, one hop at a time, so
// a test sees where each one leads, and it fills in the real HTML forms.
type Browser struct {
	t      testing.TB
	Client *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{t: t, Client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Page is one response the browser stopped at.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
	// Location is the target of a redirect the browser did not follow
	// (it leaves the server), else nil.
	Location *url.URL
}

// Visit GETs u and follows redirects while they stay on the server whose
// base URL is server; it stops at a page, or at a redirect elsewhere (the
// client's redirect URI), which it does not follow.
func (b *Browser) Visit(server, u string) *Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.Do(server, req)
}

// Do sends req and follows redirects as Visit does.
func (b *Browser) Do(server string, req *http.Request) *Page {
	b.t.Helper()
	for hops := 0; hops < 20; hops++ {
		resp, err := b.Client.Do(req)
		if err != nil {
			b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		p := &Page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			return p
		}
		loc, err := req.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			b.t.Fatalf("bad Location %q: %v", resp.Header.Get("Location"), err)
		}
		if !strings.HasPrefix(loc.String(), server+"/") {
			p.Location = loc
			return p
		}
		req, err = http.NewRequest(http.MethodGet, loc.String(), nil)
		if err != nil {
			b.t.Fatal(err)
		}
	}
	b.t.Fatal("too many redirects")
	return nil
}

// Form is one HTML form of a page.
type Form struct {
	Action *url.URL
	Method string
	// Values holds what the browser would submit as the page stands: hidden
	// and text fields, and enabled checked checkboxes.
	Values url.Values
	// Checkboxes lists the enabled checkboxes as name → values.
	Checkboxes map[string][]string
	// Buttons are the submit buttons, name → values.
	Buttons map[string][]string
}

// Forms parses the page's forms.
func (p *Page) Forms() []*Form {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil
	}
	var forms []*Form
	var cur *Form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			a := attrs(n)
			switch n.Data {
			case "form":
				action, err := p.URL.Parse(a["action"])
				if err != nil {
					action = p.URL
				}
				cur = &Form{Action: action, Method: strings.ToUpper(a["method"]), Values: url.Values{},
					Checkboxes: map[string][]string{}, Buttons: map[string][]string{}}
				if cur.Method == "" {
					cur.Method = http.MethodGet
				}
				forms = append(forms, cur)
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur == nil || a["name"] == "" {
					break
				}
				_, disabled := a["disabled"]
				if disabled {
					break
				}
				switch strings.ToLower(a["type"]) {
				case "checkbox":
					cur.Checkboxes[a["name"]] = append(cur.Checkboxes[a["name"]], a["value"])
					if _, checked := a["checked"]; checked {
						cur.Values.Add(a["name"], a["value"])
					}
				case "submit":
					cur.Buttons[a["name"]] = append(cur.Buttons[a["name"]], a["value"])
				default:
					cur.Values.Add(a["name"], a["value"])
				}
			case "button":
				if cur != nil && a["name"] != "" && (a["type"] == "" || a["type"] == "submit") {
					cur.Buttons[a["name"]] = append(cur.Buttons[a["name"]], a["value"])
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return forms
}

func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

// Form returns the page's only form, failing the test if there is not
// exactly one.
func (p *Page) Form(t testing.TB) *Form {
	t.Helper()
	fs := p.Forms()
	if len(fs) != 1 {
		t.Fatalf("%s: %d forms, want 1 (status %d)\n%s", p.URL, len(fs), p.Status, p.Body)
	}
	return fs[0]
}

// Submit posts the form's values (after set has adjusted them) and follows
// redirects as Visit does.
func (b *Browser) Submit(server string, f *Form, set func(url.Values)) *Page {
	b.t.Helper()
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = append([]string(nil), vs...)
	}
	if set != nil {
		set(v)
	}
	req, err := http.NewRequest(f.Method, f.Action.String(), strings.NewReader(v.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A browser sends Origin on every POST.
	req.Header.Set("Origin", f.Action.Scheme+"://"+f.Action.Host)
	return b.Do(server, req)
}

// SignIn fills in and submits the login page's form.
func (b *Browser) SignIn(server string, page *Page, login, pw string) *Page {
	b.t.Helper()
	f := page.Form(b.t)
	if _, ok := f.Values["password"]; !ok {
		b.t.Fatalf("%s is not the login page:\n%s", page.URL, page.Body)
	}
	return b.Submit(server, f, func(v url.Values) {
		v.Set("login", login)
		v.Set("password", pw)
	})
}

// AskedScopes returns the scopes a consent page asks for (its checkboxes
// plus the required ones carried as hidden fields).
func (p *Page) AskedScopes(t testing.TB) []string {
	t.Helper()
	f := p.Form(t)
	var out []string
	out = append(out, f.Values["scope"]...)
	for _, v := range f.Checkboxes["scope"] {
		found := false
		for _, o := range out {
			found = found || o == v
		}
		if !found {
			out = append(out, v)
		}
	}
	return out
}

// Consent answers a consent page: allow (with the scopes in untick
// unticked) or deny.
func (b *Browser) Consent(server string, page *Page, allow bool, untick ...string) *Page {
	b.t.Helper()
	f := page.Form(b.t)
	if _, ok := f.Buttons["action"]; !ok {
		b.t.Fatalf("%s is not the consent page:\n%s", page.URL, page.Body)
	}
	return b.Submit(server, f, func(v url.Values) {
		var keep []string
		for _, s := range v["scope"] {
			drop := false
			for _, u := range untick {
				drop = drop || u == s
			}
			if !drop {
				keep = append(keep, s)
			}
		}
		v["scope"] = keep
		if allow {
			v.Set("action", "allow")
		} else {
			v.Set("action", "deny")
		}
	})
}
