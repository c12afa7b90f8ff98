# The sdn-acl controller: docker build -t sdn-acl . && docker run -p 6653:6653 -p 8080:8080 sdn-acl
# Mount your own policy folder at /policy and run: docker run -v $PWD/site:/policy sdn-acl controller /policy/policy.yaml --api 0.0.0.0:8080
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.web.json ./
COPY openflow openflow
COPY compiler compiler
COPY directory directory
COPY loader loader
COPY controller controller
COPY cli cli
COPY io io
COPY edge edge
COPY cluster cluster
RUN npx tsc -p tsconfig.json && npm run build:cli && npm run build:web && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/controller/web/public controller/web/public
COPY package.json ./
COPY bin bin
COPY examples examples
RUN mkdir -p /var/lib/sdn-acl && chown node:node /var/lib/sdn-acl
USER node
EXPOSE 6653 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "bin/run.js"]
CMD ["controller", "examples/campus/policy.yaml", "--listen", "0.0.0.0:6653", "--api", "0.0.0.0:8080", "--audit-log", "/var/lib/sdn-acl/audit.jsonl", "--state-file", "/var/lib/sdn-acl/state.json"]
