# STAND-IN for python:3.11.14-slim-bookworm, built here because Docker Hub is unreachable
# (infra/images/README.md). Not the upstream image: Debian bookworm (debootstrap minbase) with Debian's own
# Python 3.11 (3.11.2, not 3.11.14) and pip, laid out like upstream: `python`, `python3`, `python3.11`,
# `pip`, `pip3` in /usr/local/bin, first on PATH, and no PEP 668 "externally managed" marker (upstream
# builds Python from source and has none, so its `pip install` as root works). The host's certificate
# authorities are trusted and pip is pointed at them, as on the host; that part exists only here.
FROM vehicles-stand-in/debian:bookworm
LABEL org.opencontainers.image.title="STAND-IN python" \
      org.opencontainers.image.description="Local stand-in for python:3.11.14-slim-bookworm (Debian bookworm minbase + Debian python3.11); not the upstream image" \
      vehicles.stand-in="true"
# Unpinned apt versions (DL3008): the point of this stand-in is bookworm's own python3.11 as the archive
# has it today; it is rebuilt from the archive, never shipped.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11 python3-pip \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3.11/EXTERNALLY-MANAGED \
 && for name in python python3 python3.11; do ln -sf /usr/bin/python3.11 "/usr/local/bin/$name"; done \
 && for name in pip pip3; do ln -sf /usr/bin/pip3 "/usr/local/bin/$name"; done
# After apt: installing ca-certificates (a pip dependency) rebuilds this bundle from Debian's list alone.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
