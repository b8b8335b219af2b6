package admin

import "strings"

// storageLayers are the prefixes of the storage backends' error texts,
// which name tables and constraints: never shown to a client.
var storageLayers = []string{"sqlstore: ", "postgres: ", "sqlite: ", "lock: "}

// PublicText is err's message up to the first storage layer's text: what a
// use-case's error may say to a caller (/api/v1's problem details, the
// console's pages). Empty when the error is the storage's own.
func PublicText(err error) string {
	s := err.Error()
	for _, l := range storageLayers {
		if strings.HasPrefix(s, l) {
			return ""
		}
		if i := strings.Index(s, ": "+l); i >= 0 {
			s = s[:i]
		}
	}
	return s
}

// PublicMessage is PublicText without the sentinel's own text, or fallback
// when nothing of admin's is left.
func PublicMessage(err, sentinel error, fallback string) string {
	s := strings.TrimSuffix(PublicText(err), ": "+sentinel.Error())
	if s == "" || s == sentinel.Error() {
		return fallback
	}
	return s
}
