package api_test

import (
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func newFormRequest(t *testing.T, u, form string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(t.Context(), "POST", u, strings.NewReader(form))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func clientOf(id, secret string) servertest.Client { return servertest.Client{ID: id, Secret: secret} }
