# Multi-stage build: static manager and ltvctl binaries on an empty base, running as nonroot.
# The final stage holds the same files as `make image` (hack/image): /manager, /ltvctl (0755),
# /etc/passwd and /etc/group (nonroot 65532, from hack/image/rootfs), /tmp (1777), all owned by
# 0:0. Time zones and CA roots are compiled into the binaries. `make docker-build` passes the
# build arguments that `make image` uses.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY hack/image/rootfs/ /out/rootfs/
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=v0.0.0-dev
ARG REVISION=unknown
RUN LDFLAGS="-s -w -X github.com/ltv-operator/ltv-operator/internal/version.Version=${VERSION} -X github.com/ltv-operator/ltv-operator/internal/version.Revision=${REVISION}" \
 && CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags="${LDFLAGS}" -o /out/rootfs/manager ./cmd/manager \
 && CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags="${LDFLAGS}" -o /out/rootfs/ltvctl ./cmd/ltvctl \
 && mkdir -p /out/rootfs/tmp \
 && chmod 0755 /out/rootfs/etc /out/rootfs/manager /out/rootfs/ltvctl \
 && chmod 0644 /out/rootfs/etc/passwd /out/rootfs/etc/group \
 && chmod 1777 /out/rootfs/tmp

FROM scratch
ARG VERSION=v0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="ltv-operator" \
      org.opencontainers.image.source="https://github.com/ltv-operator/ltv-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /out/rootfs/ /
USER 65532:65532
ENTRYPOINT ["/manager"]
