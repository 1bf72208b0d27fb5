# Ledgerlite production image. Build: docker build -t ledgerlite .
# Run:  docker run -p 3000:3000 -v ledgerlite-data:/data -e SESSION_SECRET=... ledgerlite
FROM node:24-slim

WORKDIR /app

# All dependencies, devDependencies included: `tsx` runs the .ts/.tsx sources at runtime (there
# is no build step), so `npm ci --omit=dev` would give an image that cannot start.
# --ignore-scripts skips the two install scripts in the tree, neither of which the image needs:
#  - the `node` devDependency downloads a second Node binary (the image already has Node 24);
#  - esbuild's script only checks its binary, which comes from the @esbuild/<platform> package.
COPY package.json package-lock.json ./
RUN npm ci --include=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

COPY . .

RUN mkdir -p /data && chown node:node /data

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data

VOLUME ["/data"]
EXPOSE 3000
USER node

# Liveness only (no database round trip); /readyz also checks the database and migrations.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node itself, not npm: SIGTERM reaches the process and shuts it down gracefully.
CMD ["node", "--max-semi-space-size=8", "--import", "tsx", "main.ts"]
