# syntax=docker/dockerfile:1
#
# The IntelliAuth image: one static binary on distroless/static, running as
# a non-root user, with no shell, package manager or libc inside.
#
#   docker build -t intelliauth \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" .
#
#   # try it (the demo tenant, SQLite in the volume):
#   docker run --rm -p 127.0.0.1:8080:8080 -e INTELLIAUTH_PUBLIC_URL=http://localhost:8080 \
#     -v intelliauth-data:/data intelliauth serve --demo
#
# Production: set INTELLIAUTH_PUBLIC_URL, INTELLIAUTH_MASTER_KEY (or
# INTELLIAUTH_MASTER_KEY_FILE) and, for several nodes, INTELLIAUTH_DATABASE;
# compose.yaml shows two nodes on PostgreSQL. The binary is built by
# scripts/build.sh, as release archives are (and as the packaging test in
# cmd/intelliauth builds and runs it).

# --- build: the Go toolchain of go.mod's release ----------------------------
# It runs on the builder's own platform and cross-compiles (pure Go, no cgo),
# so `docker buildx build --platform linux/amd64,linux/arm64` needs no
# emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Modules first, so that editing source does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .dockerignore keeps .git out, so the commit comes in as an argument.
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
# Set by BuildKit to the image's platform; empty (this machine's) otherwise.
ARG TARGETOS
ARG TARGETARCH
RUN GOOS="$TARGETOS" GOARCH="$TARGETARCH" VERSION="$VERSION" COMMIT="$COMMIT" DATE="$DATE" \
	scripts/build.sh /out/intelliauth \
	&& mkdir -p /out/data

# --- run: no shell, non-root --------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/intelliauth /usr/local/bin/intelliauth
# The data directory (SQLite database, demo master key, demo.json) belongs to
# the non-root user; the server creates what it needs inside with mode 0700.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV INTELLIAUTH_ADDR=0.0.0.0:8080 \
	INTELLIAUTH_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
# No shell or curl in the image: the binary asks its own /readyz (the URL
# follows INTELLIAUTH_ADDR; exit 0 ready, 1 not).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
	CMD ["/usr/local/bin/intelliauth", "healthcheck", "--timeout", "4s"]
ENTRYPOINT ["/usr/local/bin/intelliauth"]
CMD ["serve"]
