package main

import (
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"
)

// apiNode is a running server (serve, in-process, on SQLite in a fresh data
// directory) with one tenant created by the operator commands, and the
// environment of both kinds of command: DB holds the storage settings the
// operator commands (tenant, keys, migrate) use, API adds the admin
// client's credentials that the management commands send to /api/v1.
type apiNode struct {
	DB, API map[string]string
	Issuer  string
	Tenant  string
}

// startAPINode starts serve on 127.0.0.1:0 and creates tenant "acme" whose
// issuer is on that listener.
func startAPINode(t *testing.T) apiNode {
	t.Helper()
	return startAPINodeWith(t, func(addr string) string { return "http://" + addr })
}

// startAPINodeWith is startAPINode with more serve flags (--tls-cert …) and
// the tenant's public URL made from the listening address.
func startAPINodeWith(t *testing.T, publicURL func(addr string) string, serveArgs ...string) apiNode {
	t.Helper()
	db := map[string]string{"INTELLIAUTH_DATA_DIR": t.TempDir(), "INTELLIAUTH_MASTER_KEY": testKey}
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan struct{})
	var code int
	var errOut string
	go func() {
		defer close(done)
		code, _, errOut = runCLICtx(ctx, db, func(a string) { addrc <- a }, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "error"}, serveArgs...)...)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-done:
		cancel()
		t.Fatalf("serve exited early with %d: %s", code, errOut)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var created struct {
		Issuer      string `json:"issuer"`
		AdminClient struct {
			Issuer       string `json:"issuer"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"admin_client"`
	}
	mustJSON(t, &created, db, "tenant", "create", "acme", "--public-url", publicURL(addr), "--output", "json")
	ac := created.AdminClient
	if ac.ClientID != "admin-cli" || len(ac.ClientSecret) < 43 || ac.Issuer != created.Issuer {
		t.Fatalf("tenant create must make the admin client and show its secret once: %+v", created)
	}
	api := maps.Clone(db)
	// The API commands need neither the database nor the master key; an
	// empty data directory proves they do not fall back to it.
	api["INTELLIAUTH_DATA_DIR"] = t.TempDir()
	delete(api, "INTELLIAUTH_MASTER_KEY")
	api["INTELLIAUTH_ISSUER"], api["INTELLIAUTH_CLIENT_ID"], api["INTELLIAUTH_CLIENT_SECRET"] = ac.Issuer, ac.ClientID, ac.ClientSecret
	return apiNode{DB: db, API: api, Issuer: created.Issuer, Tenant: "acme"}
}

// decodeJSON is json.Unmarshal for tests.
func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}
