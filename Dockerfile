# canaryd controller image. The sources are TypeScript that Node 24 can run directly, but its type
# stripper costs ~17 MiB of RSS for the life of the process (docs/scale.md, "Memory"), so the build
# stage strips the types ahead of time with Node's own stripper (scripts/strip-types.ts): the same
# code, every line and column where src/ has it (stack traces point at the real lines), relative
# imports pointing at .js. test/deploy/image-tree.test.ts and the install e2e run that tree.

# Pin by digest in your registry mirror for reproducible builds; the tags below never float
# across Node major versions or Debian releases.
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency runs code at build time; none of ours needs an install script.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY scripts/strip-types.ts ./scripts/strip-types.ts
RUN node --disable-warning=ExperimentalWarning scripts/strip-types.ts --out /app/image

# The dashboard (ui/, Preact + uPlot) bundled by esbuild into dist/ui; only the built files go
# into the image, none of the front-end packages.
FROM node:24-bookworm AS ui
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY ui ./ui
COPY scripts/build-ui.ts ./scripts/build-ui.ts
RUN node scripts/build-ui.ts

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    CANARYD_LISTEN=0.0.0.0:8080 \
    HOME=/tmp
WORKDIR /app
# Owned by root and read-only to the process: it cannot modify its own code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/image/package.json ./package.json
COPY --from=build /app/image/bin ./bin
COPY --from=build /app/image/src ./src
COPY --from=ui /app/dist/ui ./dist/ui
# 65532 is the conventional "nonroot" uid (distroless); it owns nothing in the image. canaryd
# writes nothing to disk, so the root filesystem can be mounted read-only (HOME=/tmp for any
# library that insists on a home directory).
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const port = (process.env.CANARYD_LISTEN || ':8080').split(':').pop(); fetch('http://127.0.0.1:' + port + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# JavaScript only: with the stripper off, a TypeScript module left in the image fails at start
# instead of loading it quietly. ExperimentalWarning would put a non-JSON line into the log stream.
# --memory-saver-mode: V8 keeps its committed heap close to what is used (RSS at 1,000 policies
# 172-194 -> 146-150 MiB, for ~5 points of a core more while 100 releases step at once and no
# cost seen in step latency; docs/scale.md, "Memory"). --max-opt=1: V8 compiles no further than
# its baseline tier (Sparkplug), without the Maglev and TurboFan optimizing compilers, their
# threads and their code (RSS with 0 / 100 / 1,000 policies 103 / 120 / 146-158 -> 93 / 109 /
# 130 MiB, for ~7 points of a core more while 100 releases step at once and ~1 s more to adopt
# 1,000; rollback reaction unchanged). V8 flags NODE_OPTIONS refuses, so they are here and not
# in the manifests' NODE_OPTIONS.
ENTRYPOINT ["node", "--memory-saver-mode", "--max-opt=1", "--no-experimental-strip-types", "--disable-warning=ExperimentalWarning", "src/main.js"]
