#!/usr/bin/env bash
# One command from a fresh clone to a running fleet: system packages, dependencies, build, `gs up`,
# then proof that it works — the status of every service and real requests through the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing system packages (nats-server, redis-server, protoc, tmux)"
bash scripts/install-system-deps.sh

step "Installing npm dependencies"
npm ci --no-audit --no-fund

step "Building"
npm run build

gs() { node bin/run.js "$@"; }

step "Bringing up the local fleet: nats-server + 22 services x 2 instances + the HTTP gateway (gs up --detach)"
gs up --detach

step "gs status"
gs status

step "gs request auth.register"
gs request auth.register '{"username":"quickstart-'"$RANDOM"'","password":"correct-horse-battery"}'

step "gs request npc-behavior.decide"
gs request npc-behavior.decide '{"npcId":"n1","archetype":"villager","needs":[{"name":"hunger","value":0.8}],"context":{"hourOfDay":12}}'

step "The same rpc over HTTP, through the gateway"
node -e '
const url = require("./.gs/local.json").services.gateway.url;
const body = { npcId: "n1", archetype: "villager", needs: [{ name: "hunger", value: 0.8 }], context: { hourOfDay: 12 } };
fetch(`${url}/v1/npc-behavior.decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  .then(async (r) => { console.log(`POST ${url}/v1/npc-behavior.decide -> ${r.status}`, await r.text()); if (!r.ok) process.exit(1); });
'

step "gs services (what NATS itself sees)"
gs services

printf '\nThe fleet keeps running in the background. Try `node bin/run.js subjects --examples`; stop it with `node bin/run.js down`.\n'
