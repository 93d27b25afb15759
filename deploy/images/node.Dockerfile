# A local stand-in for node:20-bookworm-slim, for machines that reach no image registry: Debian bookworm
# (minbase, from debootstrap) plus this machine's node binary and npm, and the `node` user (uid 1000) the
# public image has. Built by deploy/images/build.sh (`npm run images`), which puts `node`, `npm/` and this
# machine's CA bundle into the build context: the machine may reach the npm registry through a TLS proxy
# whose CA only its own bundle holds, and the taskjet image's build stage runs `npm ci`.
ARG BASE_IMAGE=taskjet-local/debian:bookworm
FROM ${BASE_IMAGE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
