# syntax=docker/dockerfile:1
# The cdc image: a static binary on distroless (CA certificates, tzdata, a
# non-root user, no shell and no curl), reading its connector YAML from
# /etc/cdc/cdc.yaml:
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t cdc .
#   docker run --rm -v $PWD/examples/postgres.yaml:/etc/cdc/cdc.yaml:ro \
#     -e CDC_PG_DSN=... -e CDC_KAFKA_BROKERS=... -e CDC_METRICS_LISTEN=:9187 -p 9187:9187 cdc
#   docker run --rm -v ...:/etc/cdc/cdc.yaml:ro -e ... cdc check -offline -c /etc/cdc/cdc.yaml
#
# No Docker engine runs in the project's tests: deploy/compose_test.go checks
# this file's contract (entrypoint, config path, health check) as text.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION is what `cdc version` prints and every event carries in
# source.version; without it they would say "dev" (.git is not in the build
# context, see .dockerignore, so the revision is unknown here).
ARG VERSION=dev-container
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/cdc ./cmd/cdc

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cdc /usr/local/bin/cdc
USER nonroot:nonroot
WORKDIR /etc/cdc
# metrics.listen, by convention: set it to :9187 (all interfaces) in the
# mounted config, or the health check below fails.
EXPOSE 9187
# Ready = streaming and committing (/readyz on metrics.listen); `cdc
# healthcheck` exits 0 on 200 and prints the reason otherwise.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/cdc", "healthcheck", "-url", "http://127.0.0.1:9187/readyz"]
ENTRYPOINT ["/usr/local/bin/cdc"]
CMD ["run", "-c", "/etc/cdc/cdc.yaml"]
