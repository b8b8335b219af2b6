package oauth

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/oautherr"
)

// metadata is the RFC 8414 / OpenID Connect Discovery 1.0 document. It
// lists only what this server does now; fields for flows not yet served are
// absent rather than aspirational.
type metadata struct {
	Issuer                               string   `json:"issuer"`
	TokenEndpoint                        string   `json:"token_endpoint"`
	JWKSURI                              string   `json:"jwks_uri"`
	IntrospectionEndpoint                string   `json:"introspection_endpoint"`
	RevocationEndpoint                   string   `json:"revocation_endpoint"`
	ScopesSupported                      []string `json:"scopes_supported"`
	ResponseTypesSupported               []string `json:"response_types_supported"`
	GrantTypesSupported                  []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported    []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods     []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods        []string `json:"revocation_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgValuesSupported []string `json:"access_token_signing_alg_values_supported"`
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		e := oautherr.New(oautherr.InvalidRequest, "use GET")
		e.Status = http.StatusMethodNotAllowed
		return e
	}
	iss := snap.Tenant.Issuer
	scopes := snap.Registry.Names()
	sort.Strings(scopes)
	auth := []string{authBasic, authPost}
	m := metadata{
		Issuer:                               iss,
		TokenEndpoint:                        iss + "/oauth2/token",
		JWKSURI:                              iss + "/.well-known/jwks.json",
		IntrospectionEndpoint:                iss + "/oauth2/introspect",
		RevocationEndpoint:                   iss + "/oauth2/revoke",
		ScopesSupported:                      scopes,
		ResponseTypesSupported:               []string{},
		GrantTypesSupported:                  []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported:    auth,
		IntrospectionEndpointAuthMethods:     auth,
		RevocationEndpointAuthMethods:        auth,
		AccessTokenSigningAlgValuesSupported: []string{"ES256", "RS256"},
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
	return nil
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		e := oautherr.New(oautherr.InvalidRequest, "use GET")
		e.Status = http.StatusMethodNotAllowed
		return e
	}
	// Short caching: verifiers pick up the next key within minutes, and the
	// next key is published long before it signs.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(snap.Keys.JWKS())
	return nil
}
