# floe in a container: `docker build -t floe .` then
#   docker run -v $PWD/aws.yaml:/config/floe.yaml:ro floe run --config /config/floe.yaml --metrics-port 9464
# Two stages: the build stage has the compilers (the native JSON scanner, native/record_scan.c, is
# built here by node-gyp during `npm ci`) and the dev dependencies (TypeScript); the runtime stage
# is node:20-bookworm-slim with exactly what `npm pack` ships, the production node_modules and the
# compiled scanner, run as the unprivileged `node` user. test/deploy/dockerfile.test.ts checks it.

FROM node:20-bookworm AS build
WORKDIR /src
# Dependencies first (cached while only sources change). `npm ci` also runs floe's install
# script, `node-gyp rebuild`, which needs binding.gyp and native/.
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
RUN npm ci --no-audit --no-fund \
 && test -f build/Release/floe_native.node
COPY . .
# `npm pack` compiles src/ (prepack) and packs what a user installs; unpacked into /pkg with the
# production dependencies and the scanner built above. better-sqlite3 compiled from source (no
# prebuilt binary reachable) leaves its sources and objects: 29 MB the runtime never loads.
RUN npm pack --pack-destination /tmp \
 && mkdir /pkg \
 && tar -xzf /tmp/floe-*.tgz -C /pkg --strip-components=1 \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
      node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
      node_modules/better-sqlite3/build/Release/.deps node_modules/better-sqlite3/build/Release/*.a \
 && cp -R node_modules /pkg/node_modules \
 && mkdir -p /pkg/build/Release \
 && cp build/Release/floe_native.node /pkg/build/Release/ \
 && node /pkg/dist/src/cli/main.js --version

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /pkg /app
# `floe` on the PATH: the package's own bin entry, whatever it names.
RUN ln -s "/app/$(node -p 'require("/app/package.json").bin.floe')" /usr/local/bin/floe \
 && floe --version
USER node
EXPOSE 9464
# Liveness from floe's own endpoint (`--metrics-port 9464`, or `metrics: { port: 9464 }` in the config).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["floe"]
CMD ["run", "--config", "/config/floe.yaml", "--metrics-port", "9464"]
