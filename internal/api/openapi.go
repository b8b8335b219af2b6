package api

import (
	"bytes"
	_ "embed"
	"net/http"
)

// openAPIDocument is the hand-written OpenAPI 3 description of the whole
// API. DocIssuer stands for the tenant's issuer in it (servers, OAuth
// endpoints) and is replaced when served.
//
//go:embed openapi.json
var openAPIDocument []byte

// DocIssuer is the placeholder issuer of openapi.json.
const DocIssuer = "https://auth.example.com/t/example"

// OpenAPI returns the document with issuer in place of DocIssuer.
func OpenAPI(issuer string) []byte {
	return bytes.ReplaceAll(openAPIDocument, []byte(DocIssuer), []byte(issuer))
}

// openAPI serves the document for this tenant. It needs no token: it
// describes routes, not data.
func (h *Handler) openAPI(w http.ResponseWriter, r *Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(OpenAPI(r.Snap.Tenant.Issuer))
	return err
}
