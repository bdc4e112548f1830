# spacehook container image.
#   docker build -t spacehook .
#   docker run -d -p 8080:8080 -v spacehook-data:/var/lib/spacehook --env-file deploy/spacehook.env \
#       -v "$PWD/my-config.json:/etc/spacehook/config.json:ro" spacehook
# docs/deploy.md has the rest (compose, systemd, Kubernetes).
#
# scripts/test-dockerfile.sh runs this file without a Docker engine: it debootstraps the stages' roots and runs the
# RUN lines below in them. Keep to what it understands: FROM debian:bookworm[-slim]|scratch AS name, WORKDIR, ARG/ENV
# with one NAME=value each, COPY [--from=stage] [--chown=uid:gid] SRC... DEST (no globs), RUN in shell form (no
# heredocs, no --mount), USER uid:gid, and exec-form ENTRYPOINT, CMD and HEALTHCHECK. A `scratch` stage has no
# shell: no RUN in it.

# ---- build: the README's release preset, tests off, binary stripped; then the runtime image's whole root ----
FROM debian:bookworm AS build
WORKDIR /src
# The dependency layer only changes when the package list does.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates
COPY . .
RUN cmake --preset release -DBUILD_TESTING=OFF \
 && cmake --build --preset release -j "$(nproc)" --target spacehook \
 && strip build/release/apps/spacehook/spacehook \
 && build/release/apps/spacehook/spacehook --version \
 && bash scripts/runtime-root.sh build/release/apps/spacehook/spacehook runtime

# ---- runtime: an empty image with only what scripts/runtime-root.sh collected: the binary, the shared libraries
# it links and the loader, the CA bundle, and passwd/group entries for the non-root user (about 27 MB) ----
FROM scratch AS runtime
COPY --from=build /src/runtime/root/ /
# The volume's directory, created by this COPY and so owned by the user (0750). A fixed numeric uid/gid so that
# Kubernetes' runAsNonRoot can verify it and volume ownership is predictable.
COPY --from=build --chown=10001:10001 /src/runtime/volume /var/lib/spacehook
ENV PATH=/usr/local/bin
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# A starting point that reads its secrets from the environment; mount your own over it.
COPY deploy/config.example.json /etc/spacehook/config.json
USER 10001:10001
WORKDIR /var/lib/spacehook
VOLUME /var/lib/spacehook
EXPOSE 8080
# serve drains on SIGTERM (in-flight requests, then running steps for workers.shutdown_grace_ms) and exits 0:
# give it a stop timeout above that grace (docker stop -t 30, compose stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["spacehook", "healthcheck", "--url", "http://127.0.0.1:8080/healthz", "--timeout-ms", "3000"]
ENTRYPOINT ["spacehook"]
CMD ["serve", "--config", "/etc/spacehook/config.json"]
