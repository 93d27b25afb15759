# A local stand-in for nats:2.10-alpine: Debian bookworm (minbase, from debootstrap) with Debian trixie's
# nats-server package (2.10; its only dependencies, libc6 >= 2.34 and adduser, come from bookworm).
# Not bookworm's own 2.9.10: replicated streams need 2.9.21+, where compare-and-set is serializable
# (nats-server#4320), and taskjet refuses replicas > 1 below that. Same entry as the public image for flag
# arguments: `docker run IMAGE -js ...` runs `nats-server -js ...`. Runs as the package's unprivileged
# `nats` user; JetStream data under /data. Built by deploy/images/build.sh (`npm run images`) with host
# networking, so apt reaches Debian's mirror.
ARG BASE_IMAGE=taskjet-local/debian:bookworm
FROM ${BASE_IMAGE}
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
RUN echo "deb ${DEBIAN_MIRROR} trixie main" >/etc/apt/sources.list.d/trixie.list \
 && printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >/etc/apt/preferences.d/trixie \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie nats-server \
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/trixie.list /etc/apt/preferences.d/trixie \
 && mkdir -p /data && chown nats:nats /data \
 && nats-server --version
# the package's system user
USER nats
EXPOSE 4222 6222 8222
ENTRYPOINT ["nats-server"]
CMD ["-js", "-sd", "/data"]
