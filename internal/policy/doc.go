// Package policy owns the scope decision of PRODUCT.md §2: given the requested
// scopes, the target audience, the application and (for user flows) the
// user's entitlements and consents, it returns the granted scopes and a
// reason for every requested scope.
//
// Every token request — authorize, client credentials, refresh — and every
// "explain" runs Decide; nothing else decides scopes. The package is pure:
// values in, values out, no I/O, no clock. It may import model, scope and
// oautherr; never store, token or anything with side effects.
package policy
