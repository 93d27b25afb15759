# A local stand-in for nats:2.10-alpine: Debian bookworm (minbase, from debootstrap) with Debian's
# nats-server package (2.9). Same entry as the public image for flag arguments: `docker run IMAGE -js ...`
# runs `nats-server -js ...`. Runs as the package's unprivileged `nats` user; JetStream data under /data.
# Built by deploy/images/build.sh (`npm run images`) with host networking, so apt reaches Debian's mirror.
ARG BASE_IMAGE=taskjet-local/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nats-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown nats:nats /data \
 && nats-server --version
# the package's system user
USER nats
EXPOSE 4222 6222 8222
ENTRYPOINT ["nats-server"]
CMD ["-js", "-sd", "/data"]
