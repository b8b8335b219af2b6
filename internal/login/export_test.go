package login

// Unexported helpers the external tests (package login_test) check
// directly.
var (
	IPKey          = ipKey
	FormAction     = formAction
	ClipBytes      = clipBytes
	SessionIDOf    = sessionID
	UnknownUserKey = unknownUserKey
	CSRFToken      = csrfToken
	DecodeToken    = decodeToken
	CookiePath     = cookiePath
	DeviceName     = deviceName
)

// StyleSrc is the CSP source of the embedded stylesheet.
func StyleSrc() string { return site.styleSrc }
