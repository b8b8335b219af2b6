#!/bin/sh
# scripts/release.sh — cross-compiled, version-stamped intelliauth binaries
# and their SHA-256 checksums, in dist/:
#
#   VERSION=v1.2.0 scripts/release.sh
#   → dist/intelliauth_v1.2.0_linux_amd64 … dist/intelliauth_v1.2.0_windows_arm64.exe
#     dist/SHA256SUMS            (check with: cd dist && sha256sum -c SHA256SUMS)
#
# Each binary is built by scripts/build.sh (static, -trimpath, stamped), the
# same recipe as the container image. All targets share one commit and one
# build date.
#
# Environment (all optional):
#   VERSION          default: the git tag on HEAD, else "dev"
#   COMMIT, DATE     as for scripts/build.sh (computed once here)
#   RELEASE_TARGETS  space-separated GOOS/GOARCH pairs (default: linux, darwin
#                    and windows on amd64 and arm64); the packaging test builds
#                    one to stay fast
#   DIST             output directory (default: dist, in the current directory)
set -eu
# DIST is relative to where the script is run from, like any path argument.
dist=${DIST:-dist}
case $dist in
/*) ;;
*) dist=$PWD/$dist ;;
esac
cd "$(dirname "$0")/.."

version=${VERSION:-$(git describe --tags --exact-match 2>/dev/null || echo dev)}
if [ -z "${COMMIT+set}" ]; then
	COMMIT=$(git rev-parse HEAD 2>/dev/null || true)
	if [ -n "$COMMIT" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		echo "scripts/release.sh: tracked files have uncommitted changes; the binaries say commit $COMMIT-dirty" >&2
		COMMIT=$COMMIT-dirty
	fi
fi
date=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
targets=${RELEASE_TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}

if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum "$@"; }
elif command -v shasum >/dev/null 2>&1; then
	sha256() { shasum -a 256 "$@"; }
else
	echo "scripts/release.sh: neither sha256sum nor shasum is installed" >&2
	exit 1
fi

mkdir -p "$dist"
# Only what an earlier run put there goes: never the whole directory.
rm -f "$dist"/intelliauth_* "$dist"/SHA256SUMS

for target in $targets; do
	goos=${target%/*}
	goarch=${target#*/}
	if [ -z "$goos" ] || [ -z "$goarch" ] || [ "$goos/$goarch" != "$target" ]; then
		echo "scripts/release.sh: target '$target' is not GOOS/GOARCH (e.g. linux/amd64)" >&2
		exit 2
	fi
	ext=
	[ "$goos" = windows ] && ext=.exe
	name=intelliauth_${version}_${goos}_${goarch}${ext}
	echo "building $name" >&2
	GOOS=$goos GOARCH=$goarch VERSION=$version COMMIT=$COMMIT DATE=$date \
		scripts/build.sh "$dist/$name"
done

(cd "$dist" && sha256 intelliauth_* >SHA256SUMS)
echo "wrote $(echo $targets | wc -w) binaries and SHA256SUMS to $dist/" >&2
