# An image that runs `allium relay` (default) or any other `allium` command. docs/OPERATORS.md:
#   docker build -t allium .
#   docker run -d --name allium-relay -p 9001:9001 -v allium-data:/data \
#     -v /etc/allium/relay.conf:/etc/allium/relay.conf:ro allium
#   docker run --rm allium pool --help
# Two stages: the first compiles lib/ and the native WebSocket helper (bufferutil) with the
# build tools; the second holds only Node, the compiled code and the production dependencies.
FROM node:24-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npx tsc -p tsconfig.lib.json \
 && chmod +x lib/cli/allium.js \
 && npm ci --omit=dev --ignore-scripts \
 && npm rebuild bufferutil

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    XDG_DATA_HOME=/data \
    ALLIUM_RELAY_HOST=0.0.0.0 \
    ALLIUM_POOL_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/lib ./lib
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/docs ./docs
COPY --from=build /src/packaging ./packaging
# Keys live in /data/allium (a volume, so a relay keeps its identity across upgrades).
RUN mkdir -p /data/allium /etc/allium && chown -R node:node /data
VOLUME /data
USER node
EXPOSE 9001 7070
# Relay or pool: SIGTERM unregisters/stops cleanly; give it the time to.
STOPSIGNAL SIGTERM
# The bin itself, not `node lib/cli/allium.js`: its #! line carries the Node flags it runs with.
ENTRYPOINT ["/app/lib/cli/allium.js"]
CMD ["relay", "--config", "/etc/allium/relay.conf"]
