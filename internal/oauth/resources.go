package oauth

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// One grant, several APIs (RFC 8707). An authorization request may name
// several APIs with repeated resource parameters (§2.1: "Multiple resource
// parameters MAY be used to indicate that the requested token is intended
// to be used at multiple resources"). The scope decision runs once per API
// on the part of the scope parameter that API defines (apiRequests); the
// grant — its code and its refresh-token family — records each API with the
// scopes granted for it (model.ResourceGrant). Every access token is still
// for one API: the token request's first resource, or the grant's first
// API when it names none (§2.2: a resource the grant does not cover is
// invalid_target).

// resourceParams reads the APIs a request names: the audience parameter,
// then each RFC 8707 resource parameter in order, duplicates collapsed.
// An API is named by its identifier (model.API.Identifier), an absolute
// URI or a plain name such as api.banking.example.com, as before: whether
// it is known is the decision's question (invalid_target). An empty
// resource value names nothing (§2: "The value of the resource parameter
// MUST be an absolute URI") and is refused, as is a request naming more
// than model.MaxResources APIs.
func resourceParams(form url.Values) ([]string, error) {
	var out []string
	add := func(v string) {
		for _, have := range out {
			if have == v {
				return
			}
		}
		out = append(out, v)
	}
	if aud := form.Get("audience"); aud != "" {
		add(aud)
	}
	for _, res := range form["resource"] {
		if res == "" {
			return nil, oautherr.New(oautherr.InvalidTarget, "a resource parameter is empty: name an API by its identifier or leave the parameter out")
		}
		add(res)
	}
	if len(out) > model.MaxResources {
		return nil, oautherr.New(oautherr.InvalidTarget, "a request may name at most "+strconv.Itoa(model.MaxResources)+" APIs (audience and resource parameters); ask for the others in another request")
	}
	return out, nil
}

// apiRequest is one API's part of a request naming several.
type apiRequest struct {
	// audience is the API's identifier as requested ("" when the request
	// names none: the decision picks the audience).
	audience string
	// scope is the part of the scope parameter the decision runs on for
	// this API.
	scope string
}

// apiRequests splits a request into one decision input per API it names.
// A request of one API (or none) is one part, the scope parameter as sent:
// what the decision has always seen. With several APIs, each API's part is
// the requested scopes it defines plus the OIDC scopes, which go with any
// audience (PRODUCT.md §2 step 3) and are asked for once on the consent
// page; a scope of no named API (unknown, or another API's) goes to the
// first part, where the decision gives its reason (not_registered,
// wrong_audience) and a strict application's request fails as it would
// for one API. Without a scope parameter every API gets its default (the
// allowlist's scopes for it). An API named with a scope parameter that
// holds none of its scopes is refused (invalid_target): a token for it
// would carry nothing of it. An unknown API yields its part alone, so that
// the decision refuses it with its usual invalid_target.
func apiRequests(reg *policy.Registry, scopeParam string, resources []string) ([]apiRequest, error) {
	if len(resources) <= 1 {
		aud := ""
		if len(resources) == 1 {
			aud = resources[0]
		}
		return []apiRequest{{audience: aud, scope: scopeParam}}, nil
	}
	parts := make([]apiRequest, len(resources))
	index := make(map[string]int, len(resources)) // API ID → part
	for i, res := range resources {
		api, ok := reg.API(res)
		if !ok {
			return []apiRequest{{audience: res, scope: scopeParam}}, nil
		}
		parts[i].audience = res
		index[api.ID] = i
	}
	requested, err := scope.Parse(scopeParam)
	if err != nil || requested.Empty() {
		// Malformed: the first decision says so. Empty: defaults per API.
		for i := range parts {
			parts[i].scope = scopeParam
		}
		return parts, nil
	}
	lists := make([][]string, len(parts))
	own := make([]bool, len(parts))
	for name := range requested.All() {
		s, known := reg.Scope(name)
		switch {
		case known && s.Kind == model.KindOIDC:
			for i := range lists {
				lists[i] = append(lists[i], name)
			}
			continue
		case known:
			if i, ok := index[s.APIID]; ok {
				lists[i] = append(lists[i], name)
				own[i] = true
				continue
			}
		}
		lists[0] = append(lists[0], name)
		own[0] = true
	}
	for i := range parts {
		if !own[i] {
			return nil, oautherr.New(oautherr.InvalidTarget, fmt.Sprintf("no requested scope belongs to the API %s: ask for its scopes or leave that resource out", clip(parts[i].audience)))
		}
		parts[i].scope = scope.New(lists[i]...).String()
	}
	return parts, nil
}

// coveredAPI picks the API of the grant a token request's token is for
// (RFC 8707 §2.2): the first resource (or audience) the request names,
// or without one the grant's first API. Every API the request names must
// be one the grant covers, else invalid_target.
func coveredAPI(requested []string, resources []model.ResourceGrant, audience string, scopes []string) (model.ResourceGrant, error) {
	var target model.ResourceGrant
	for i, aud := range requested {
		rg, ok := model.GrantFor(resources, audience, scopes, aud)
		if !ok {
			return model.ResourceGrant{}, oautherr.New(oautherr.InvalidTarget,
				fmt.Sprintf("the grant does not cover the API %s: ask for one the authorization request named", clip(aud)))
		}
		if i == 0 {
			target = rg
		}
	}
	if len(requested) > 0 {
		return target, nil
	}
	if len(resources) > 0 {
		return resources[0], nil
	}
	return model.ResourceGrant{Audience: audience, Scopes: scopes}, nil
}

// clip bounds a client-supplied value echoed in an error description.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
