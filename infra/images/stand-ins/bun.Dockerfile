# STAND-IN for oven/bun:1.4.5 and oven/bun:1.4.5-slim, built here because Docker Hub is unreachable
# (infra/images/README.md). Not the upstream image: Debian bookworm (debootstrap minbase) plus the pinned
# Bun binary from npm, the `bun` user with upstream's uid/gid 1000, upstream's entrypoint behaviour and Bun
# environment. The host's certificate authorities are trusted so `bun install` works behind this
# machine's TLS-inspecting network; that part exists only in the stand-in.
FROM vehicles-stand-in/debian:bookworm
LABEL org.opencontainers.image.title="STAND-IN oven/bun" \
      org.opencontainers.image.description="Local stand-in for oven/bun (Debian bookworm minbase + Bun from npm); not the upstream image" \
      vehicles.stand-in="true"
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bun /usr/local/bin/bun
COPY bun-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN ln -s bun /usr/local/bin/bunx \
 && groupadd --gid 1000 bun \
 && useradd --uid 1000 --gid bun --shell /bin/sh --create-home bun \
 && mkdir -p /home/bun/app && chown bun:bun /home/bun/app
ENV BUN_RUNTIME_TRANSPILER_CACHE_PATH=0 \
    BUN_INSTALL_BIN=/usr/local/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /home/bun/app
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["/usr/local/bin/bun"]
