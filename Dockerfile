# Builds the cdc binary into a small image. Not exercised by the tests here
# (no Docker engine on the CI machines); the binary itself is.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /cdc ./cmd/cdc

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /cdc /usr/local/bin/cdc
ENTRYPOINT ["/usr/local/bin/cdc"]
CMD ["run", "-c", "/etc/cdc/connector.yaml"]
