package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	var mu sync.Mutex // the handler's goroutine and the test share status and last
	status, last := http.StatusOK, ""
	set := func(s int) { mu.Lock(); status = s; mu.Unlock() }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.URL.Path
		status := status
		mu.Unlock()
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/readyz", http.StatusFound)
			return
		}
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = w.Write([]byte(`{"status":"ready"}`))
		} else {
			_, _ = w.Write([]byte("{\"status\":\n\"database unreachable\"}\x00"))
		}
	}))
	defer srv.Close()

	if code, out, errOut := runCLI(t, nil, "healthcheck", "--url", srv.URL+"/readyz"); code != 0 || !strings.Contains(out, "ready") {
		t.Fatalf("ready node: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}

	set(http.StatusServiceUnavailable)
	code, _, errOut := runCLI(t, nil, "healthcheck", "--url", srv.URL+"/readyz")
	if code != 1 || !strings.Contains(errOut, "503") || !strings.Contains(errOut, `"database unreachable"`) {
		t.Fatalf("not-ready node: exit %d, stderr %q; want 1 with the status and the node's reason", code, errOut)
	}
	if strings.ContainsAny(strings.TrimSuffix(errOut, "\n"), "\n\x00") {
		t.Errorf("not-ready message is not one printable line: %q", errOut)
	}

	set(http.StatusOK)
	if code, _, errOut := runCLI(t, nil, "healthcheck", "--url", srv.URL+"/moved"); code != 1 || !strings.Contains(errOut, "302") {
		t.Errorf("a redirect: exit %d, stderr %q; want 1 (a redirect is not readiness)", code, errOut)
	}

	// A port nobody listens on: refused, and the message says what to check.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	code, _, errOut = runCLI(t, nil, "healthcheck", "--url", "http://"+closed+"/readyz")
	if code != 1 || !strings.Contains(errOut, "connection refused") || !strings.Contains(errOut, "--url") {
		t.Errorf("nothing listening: exit %d, stderr %q; want 1, 'connection refused' and the way out", code, errOut)
	}

	// The default URL follows INTELLIAUTH_ADDR, as the container sets it.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if code, _, errOut := runCLI(t, map[string]string{"INTELLIAUTH_ADDR": "0.0.0.0:" + port}, "healthcheck"); code != 0 {
		t.Errorf("default URL from INTELLIAUTH_ADDR=0.0.0.0:%s: exit %d, stderr %q", port, code, errOut)
	}
	mu.Lock()
	if last != "/readyz" {
		t.Errorf("default URL asked %q, want /readyz", last)
	}
	mu.Unlock()

	for _, bad := range []string{"ftp://x/readyz", "/readyz", "http://"} {
		if code, _, _ := runCLI(t, nil, "healthcheck", "--url", bad); code != 2 {
			t.Errorf("--url %q: exit %d, want 2 (usage)", bad, code)
		}
	}
}

func TestReadyURL(t *testing.T) {
	for _, tc := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080/readyz"},
		{":9000", false, "http://127.0.0.1:9000/readyz"},
		{"[::]:8080", false, "http://[::1]:8080/readyz"},
		{"10.1.2.3:8443", true, "https://10.1.2.3:8443/readyz"},
		{"localhost:8080", false, "http://localhost:8080/readyz"},
	} {
		got, err := readyURL(tc.addr, tc.tls)
		if err != nil || got != tc.want {
			t.Errorf("readyURL(%q, %v) = %q, %v; want %q", tc.addr, tc.tls, got, err, tc.want)
		}
	}
	if _, err := readyURL("8080", false); err == nil || !strings.Contains(err.Error(), "--url") {
		t.Errorf("readyURL(\"8080\"): %v; want an error naming --url", err)
	}
}
