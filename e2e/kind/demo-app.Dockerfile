# The demo app image for kind clusters (tag it canaryd-demo:<version>). Not used on machines
# without Docker, where the local cluster's pod runner serves the same app.
FROM node:24-alpine
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY e2e/cluster/demo-app.ts e2e/cluster/demo-app.ts
COPY e2e/kind/serve-demo.ts e2e/kind/serve-demo.ts
USER node
EXPOSE 8080
CMD ["node", "e2e/kind/serve-demo.ts"]
