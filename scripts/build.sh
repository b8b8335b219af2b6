#!/bin/sh
# scripts/build.sh OUTPUT — build the release binary of intelliauth.
#
# The one recipe for a shipped binary: the Dockerfile's build stage,
# scripts/release.sh and the packaging test (cmd/intelliauth) all call it,
# so the image, the release archives and what the test runs are built alike.
#
#   - CGO_ENABLED=0: a static binary (SQLite is modernc.org/sqlite, pure Go),
#     which runs on distroless/static, scratch, or any Linux without libc.
#   - -trimpath: no build-machine paths in the binary (reproducible, and no
#     leak of the builder's home directory in stack traces).
#   - -ldflags -s -w: no symbol table or DWARF (a smaller binary; the build
#     information `intelliauth version` and `go version -m` read is kept).
#   - -X main.version/commit/date: what `intelliauth version` prints.
#
# Environment (all optional):
#   VERSION      e.g. v1.2.0 (default: dev)
#   COMMIT       the source commit (default: git rev-parse HEAD, with -dirty
#                when tracked files have uncommitted changes, in a git
#                checkout; else empty, and the binary says "unknown")
#   DATE         build date, RFC 3339 UTC (default: now)
#   GOOS/GOARCH  the target, as for go build (default: this machine)
set -eu

if [ $# -ne 1 ]; then
	echo "usage: scripts/build.sh OUTPUT" >&2
	exit 2
fi
out=$1
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac
cd "$(dirname "$0")/.."

version=${VERSION:-dev}
if [ -z "${COMMIT+set}" ]; then
	COMMIT=$(git rev-parse HEAD 2>/dev/null || true)
	if [ -n "$COMMIT" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		COMMIT=$COMMIT-dirty
	fi
fi
commit=$COMMIT
date=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}

# The values go into one -ldflags word: refuse anything that would split it
# or be read as another flag.
for v in "$version" "$commit" "$date"; do
	case $v in
	*[!A-Za-z0-9._:+-]*)
		echo "scripts/build.sh: '$v' may only hold letters, digits and . _ : + -" >&2
		exit 2
		;;
	esac
done

CGO_ENABLED=0 exec go build \
	-trimpath \
	-ldflags "-s -w -X main.version=$version -X main.commit=$commit -X main.date=$date" \
	-o "$out" \
	./cmd/intelliauth
