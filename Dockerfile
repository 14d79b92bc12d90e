# Agora as a container image: a static-ish binary (cgo for SQLite) on a small Debian.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/agora ./cmd/agora

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 --home /data agora \
    && mkdir -p /data && chown agora /data
COPY --from=build /out/agora /usr/local/bin/agora
USER agora
WORKDIR /data
ENV AGORA_ENV=production AGORA_ADDR=:8080 AGORA_DATA_DIR=/data AGORA_DATABASE_URL=sqlite:///data/agora.db
EXPOSE 8080
# Probes: GET /healthz (liveness) and GET /readyz (readiness).
ENTRYPOINT ["/usr/local/bin/agora"]
CMD ["serve"]
