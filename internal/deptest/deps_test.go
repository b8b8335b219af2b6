package deptest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/intelliauth/intelliauth/"

// rule bounds one package's transitive dependencies.
type rule struct {
	// may lists the module's packages it may depend on (besides itself).
	may []string
	// external lists the outside module path prefixes it may depend on; the
	// standard library is always allowed.
	external []string
}

// drivers are the database drivers; only the backends, the composition
// root and the test harness may pull them in.
var drivers = []string{"modernc.org/", "github.com/jackc/"}

var (
	jose   = []string{"github.com/go-jose/go-jose/v4"}
	argon2 = []string{"golang.org/x/crypto/argon2", "golang.org/x/crypto/blake2b", "golang.org/x/sys/cpu"}
	// The second-factor libraries: TOTP and its QR code, WebAuthn and what
	// go-webauthn pulls in (CBOR, COSE, TPM and JWT parsing for attestation
	// formats, msgp for its own encodings).
	otpLibs      = []string{"github.com/pquerna/otp", "github.com/boombuler/barcode"}
	cborLibs     = []string{"github.com/fxamacker/cbor/v2", "github.com/x448/float16"}
	webauthnLibs = append(slices.Clone(cborLibs), "github.com/go-webauthn/", "github.com/go-viper/mapstructure/v2", "github.com/google/go-tpm", "github.com/golang-jwt/jwt/v5", "github.com/google/uuid", "github.com/tinylib/msgp", "github.com/philhofer/fwd", "golang.org/x/crypto/ocsp", "golang.org/x/sys")
	// mfaLibs are what a package that imports internal/mfa pulls in.
	mfaLibs = append(slices.Clone(otpLibs), webauthnLibs...)
	// otelAPI is OpenTelemetry's tracing API (what the traced packages
	// import to start spans), never its SDK or exporters: only the
	// composition root builds a tracer provider and sends spans anywhere.
	otelAPI    = []string{"go.opentelemetry.io/otel/trace", "go.opentelemetry.io/otel/attribute", "go.opentelemetry.io/otel/codes", "go.opentelemetry.io/otel/semconv/", "go.opentelemetry.io/otel/propagation", "go.opentelemetry.io/otel/baggage", "go.opentelemetry.io/otel/internal/", "github.com/cespare/xxhash"}
	prometheus = []string{"github.com/prometheus/", "github.com/beorn7/perks", "github.com/cespare/xxhash", "github.com/munnerz/goautoneg", "google.golang.org/protobuf", "golang.org/x/sys"}
)

// rules is the dependency direction. Each package may use what its row
// lists and nothing else of the module; a package absent from the table
// fails the test, so a new package must state its place.
var rules = map[string]rule{
	// Public, importable by anyone: standard library only.
	"scope":    {},
	"oautherr": {},

	"internal/model":  {may: []string{"scope"}},
	"internal/secret": {},
	"internal/policy": {may: []string{"internal/model", "scope", "oautherr"}},

	// Password hashing (argon2id): the standard library and x/crypto only.
	"internal/password": {external: argon2},

	// Second factors: verification only, below every HTTP package and
	// beside store (never importing it). Its test authenticator imports none
	// of the module, so any package's tests may use it.
	"internal/mfa":         {may: []string{"internal/model", "scope"}, external: append(slices.Clone(otpLibs), webauthnLibs...)},
	"internal/mfa/mfatest": {external: append(slices.Clone(otpLibs), cborLibs...)},

	"internal/store":           {may: []string{"internal/model", "scope"}},
	"internal/store/storetest": {may: []string{"internal/store", "internal/model", "scope"}},
	// sqlstore compresses audit details with zstd (docs/audit.md).
	"internal/store/sqlstore": {may: []string{"internal/store", "internal/model", "scope"}, external: append([]string{"github.com/klauspost/compress"}, otelAPI...)},
	"internal/store/sqlite":   {may: []string{"internal/store/sqlstore", "internal/store", "internal/model", "scope"}, external: append([]string{"modernc.org/", "github.com/dustin/go-humanize", "github.com/google/uuid", "github.com/mattn/go-isatty", "github.com/ncruces/go-strftime", "github.com/remyoudompheng/bigfft", "golang.org/x/sys", "github.com/klauspost/compress"}, otelAPI...)},
	"internal/store/postgres": {may: []string{"internal/store/sqlstore", "internal/store", "internal/model", "scope"}, external: append([]string{"github.com/jackc/", "golang.org/x/text", "golang.org/x/sync", "github.com/klauspost/compress"}, otelAPI...)},

	"internal/token": {may: []string{"internal/store", "internal/model", "scope"}, external: jose},
	// The one slog handler, the access log and the failure classification:
	// below every HTTP package, above store only (for ErrUnavailable).
	"internal/logging": {may: []string{"internal/store", "internal/model", "scope"}},
	"internal/audit":   {may: []string{"internal/store", "internal/model", "scope"}},
	"internal/config":  {may: []string{"internal/token", "internal/store", "internal/model", "scope"}, external: jose},

	"internal/catalog": {may: []string{"internal/token", "internal/policy", "internal/store", "internal/model", "scope", "oautherr"}, external: jose},
	"internal/oauth":   {may: []string{"internal/logging", "internal/login", "internal/admin", "internal/mfa", "internal/password", "internal/catalog", "internal/audit", "internal/token", "internal/policy", "internal/secret", "internal/store", "internal/model", "scope", "oautherr"}, external: append(append(append(slices.Clone(jose), argon2...), mfaLibs...), otelAPI...)},
	"internal/admin":   {may: []string{"internal/mfa", "internal/password", "internal/audit", "internal/token", "internal/policy", "internal/secret", "internal/store", "internal/model", "scope", "oautherr"}, external: append(append(slices.Clone(jose), argon2...), mfaLibs...)},
	"internal/api":     {may: []string{"internal/logging", "internal/admin", "internal/mfa", "internal/password", "internal/audit", "internal/catalog", "internal/token", "internal/policy", "internal/secret", "internal/store", "internal/model", "scope", "oautherr"}, external: append(append(slices.Clone(jose), argon2...), mfaLibs...)},
	// The admin console: pages over admin, signed in through the tenant's
	// own OAuth endpoints over HTTP (never importing oauth or login).
	"internal/console": {may: []string{"internal/logging", "internal/admin", "internal/mfa", "internal/password", "internal/audit", "internal/catalog", "internal/token", "internal/policy", "internal/secret", "internal/store", "internal/model", "scope", "oautherr"}, external: append(append(slices.Clone(jose), argon2...), mfaLibs...)},
	"internal/server":  {may: []string{"internal/logging", "internal/console", "internal/api", "internal/admin", "internal/mfa", "internal/oauth", "internal/login", "internal/password", "internal/catalog", "internal/audit", "internal/token", "internal/policy", "internal/secret", "internal/store", "internal/model", "scope", "oautherr"}, external: append(append(append(append(slices.Clone(jose), prometheus...), argon2...), mfaLibs...), otelAPI...)},

	// The demo's relying-party page: talks to the server over HTTP only.
	"internal/playground": {may: []string{"internal/catalog", "internal/token", "internal/policy", "internal/store", "internal/model", "scope", "oautherr"}, external: jose},

	// The end-user pages; oauth imports login, never the reverse.
	"internal/login": {may: []string{"internal/admin", "internal/mfa", "internal/secret", "internal/logging", "internal/password", "internal/catalog", "internal/audit", "internal/token", "internal/policy", "internal/store", "internal/model", "scope", "oautherr"}, external: append(append(slices.Clone(jose), argon2...), mfaLibs...)},

	// The resource-server SDK, its fake issuer and the example API behind
	// it: public, never internal/, never a database driver.
	"rs":               {may: []string{"scope", "oautherr"}, external: jose},
	"rs/rstest":        {may: []string{"scope", "oautherr"}, external: jose},
	"examples/bankapi": {may: []string{"rs", "scope", "oautherr"}, external: jose},

	// The test harness and the composition root may use everything.
	"internal/server/servertest": {may: []string{"*"}, external: []string{"*"}},
	"cmd/intelliauth":            {may: []string{"*"}, external: []string{"*"}},
	"internal/deptest":           {},
}

func TestImportDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	// One go list for the whole module: each line is a package and its
	// transitive non-standard dependencies.
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-f",
		`{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	std, err := exec.CommandContext(t.Context(), goTool, "list", "std").Output()
	if err != nil {
		t.Fatalf("go list std: %v", err)
	}
	isStd := map[string]bool{}
	for _, p := range strings.Fields(string(std)) {
		isStd[p] = true
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		r, ok := rules[pkg]
		if !ok {
			t.Errorf("%s has no row in the dependency table: give it its place in internal/deptest", pkg)
			continue
		}
		seen++
		for _, dep := range fields[1:] {
			if isStd[dep] || strings.HasPrefix(dep, "vendor/") || strings.HasPrefix(dep, "internal/") {
				continue
			}
			if inner, ok := strings.CutPrefix(dep, mod); ok {
				if inner != pkg && !allows(r.may, inner) {
					t.Errorf("%s depends on %s, which the layout forbids", pkg, inner)
				}
				continue
			}
			if !allows(r.external, dep) {
				t.Errorf("%s depends on outside module %s, which its row does not allow", pkg, dep)
			}
		}
	}
	if seen < 15 {
		t.Fatalf("go list reported only %d packages", seen)
	}
}

// allows reports whether dep matches one of the list's entries: "*", an
// exact package, or a module path prefix.
func allows(list []string, dep string) bool {
	for _, a := range list {
		if a == "*" || dep == a || strings.HasPrefix(dep, strings.TrimSuffix(a, "/")+"/") || (strings.HasSuffix(a, "/") && strings.HasPrefix(dep, a)) {
			return true
		}
	}
	return false
}

func TestNoDriverOutsideBackends(t *testing.T) {
	// A cheap restatement of the most important rule, so it reads plainly.
	for pkg, r := range rules {
		if slices.Contains(r.external, "*") || strings.HasPrefix(pkg, "internal/store/") {
			continue
		}
		for _, d := range drivers {
			if allows(r.external, d+"x") {
				t.Errorf("%s may depend on the database driver %s", pkg, d)
			}
		}
	}
}
