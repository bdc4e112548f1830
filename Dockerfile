# spacehook container image.
#   docker build -t spacehook .
#   docker run -d -p 8080:8080 -v spacehook-data:/var/lib/spacehook --env-file deploy/spacehook.env \
#       -v "$PWD/my-config.json:/etc/spacehook/config.json:ro" spacehook
# docs/deploy.md has the rest (compose, systemd, Kubernetes).
#
# scripts/test-dockerfile.sh runs this file without a Docker engine: it debootstraps the stages' roots and runs the
# RUN lines below in them. Keep to what it understands: FROM debian:bookworm[-slim] AS name, WORKDIR, ARG/ENV
# with one NAME=value each, COPY [--from=stage] SRC... DEST (no --chown, no globs), RUN in shell form (no heredocs,
# no --mount), USER uid:gid, and exec-form ENTRYPOINT, CMD and HEALTHCHECK.

# ---- build: the README's release preset, tests off, binary stripped ----
FROM debian:bookworm AS build
WORKDIR /src
# The dependency layer only changes when the package list does.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh
COPY . .
RUN cmake --preset release -DBUILD_TESTING=OFF \
 && cmake --build --preset release -j "$(nproc)" --target spacehook \
 && strip build/release/apps/spacehook/spacehook \
 && build/release/apps/spacehook/spacehook --version

# ---- runtime: bookworm-slim with the shared libraries the binary links and the CA bundle for https ----
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libsqlite3-0 libpq5 libfmt9 libboost-json1.81.0 libboost-url1.81.0 libstdc++6 ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/* /var/log/apt/* /var/log/dpkg.log
# A fixed numeric uid/gid so that Kubernetes' runAsNonRoot can verify it and volume ownership is predictable.
RUN groupadd --system --gid 10001 spacehook \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/spacehook --no-create-home \
      --shell /usr/sbin/nologin spacehook \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/spacehook \
 && install -d -m 0755 /etc/spacehook
COPY --from=build /src/build/release/apps/spacehook/spacehook /usr/local/bin/spacehook
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
