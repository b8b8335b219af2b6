package oauth

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
)

// metadata is the RFC 8414 / OpenID Connect Discovery 1.0 document. It
// lists only what this server does now; fields for flows not served are
// absent rather than aspirational.
type metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint,omitempty"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported,omitempty"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods           []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods              []string `json:"revocation_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgValuesSupported       []string `json:"access_token_signing_alg_values_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
}

// idTokenClaims are the claims every ID token may carry besides those the
// OIDC scopes release.
var idTokenClaims = []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "acr", "amr", "nonce", "at_hash", "sid"}

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
	claims := slices.Clone(idTokenClaims)
	for _, n := range scopes {
		if s, ok := snap.Registry.Scope(n); ok && s.Kind == model.KindOIDC {
			claims = append(claims, s.Claims...)
		}
	}
	sort.Strings(claims)
	claims = slices.Compact(claims)
	secretAuth := []string{authBasic, authPost}
	m := metadata{
		Issuer:                               iss,
		TokenEndpoint:                        iss + "/oauth2/token",
		JWKSURI:                              iss + "/.well-known/jwks.json",
		IntrospectionEndpoint:                iss + "/oauth2/introspect",
		RevocationEndpoint:                   iss + "/oauth2/revoke",
		ScopesSupported:                      scopes,
		ClaimsSupported:                      claims,
		ResponseTypesSupported:               []string{},
		ResponseModesSupported:               []string{"query"},
		GrantTypesSupported:                  []string{model.GrantClientCredentials},
		SubjectTypesSupported:                []string{"public"},
		IDTokenSigningAlgValuesSupported:     []string{model.AlgRS256, model.AlgES256},
		CodeChallengeMethodsSupported:        []string{"S256"},
		PromptValuesSupported:                []string{promptNone, promptLogin, promptConsent, promptSelectAccount},
		TokenEndpointAuthMethodsSupported:    []string{authBasic, authPost, authNone},
		IntrospectionEndpointAuthMethods:     secretAuth,
		RevocationEndpointAuthMethods:        []string{authBasic, authPost, authNone},
		AccessTokenSigningAlgValuesSupported: []string{model.AlgES256, model.AlgRS256},
		// RFC 9207 §3.
		AuthorizationResponseIssParameterSupported: true,
	}
	if h.Login != nil {
		m.AuthorizationEndpoint = iss + "/oauth2/authorize"
		m.UserinfoEndpoint = iss + "/oauth2/userinfo"
		m.EndSessionEndpoint = iss + "/oauth2/logout"
		m.ResponseTypesSupported = []string{"code"}
		m.GrantTypesSupported = []string{model.GrantAuthorizationCode, model.GrantRefreshToken, model.GrantClientCredentials}
		// OIDC Discovery 1.0 §3: the acr values this server issues.
		m.ACRValuesSupported = model.ACRValuesSupported()
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
