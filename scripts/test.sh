#!/usr/bin/env bash
# The whole suite, as the README's `npm test` runs it: starts the local infrastructure it needs
# (installing it on first use), builds, checks, runs unit, integration and end-to-end tests,
# and stops the infrastructure it started (what was already running is left alone).
set -euo pipefail
cd "$(dirname "$0")/.."

started_file=$(mktemp)
cleanup() {
  local code=$?
  if [ -s "$started_file" ]; then
    echo "== stopping the infrastructure this run started: $(tr '\n' ' ' < "$started_file")"
    # shellcheck disable=SC2046
    bash infra/local/infra.sh down $(cat "$started_file") || true
  fi
  rm -f "$started_file"
  exit $code
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }

step "infrastructure (Redis, Kafka, PostgreSQL, FerretDB on it)"
INFRA_STARTED_FILE="$started_file" bash infra/local/infra.sh up

step "browser (Debian's Chromium, for the browser end-to-end tests)"
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

step "build"
npx turbo run build --output-logs=errors-only

step "dependency audit (known-CVE floors; npm audit --omit=dev --audit-level=high, reported as SKIPPED when the registry cannot answer)"
bash scripts/audit.sh

step "lint and typecheck"
npx turbo run lint typecheck --output-logs=errors-only

step "Kubernetes manifests (kustomize build + offline schema validation)"
node infra/k8s/validate.mjs

step "unit tests"
npx turbo run test --output-logs=new-only

step "integration tests (real Redis, Kafka, FerretDB on PostgreSQL)"
npx turbo run test:integration --concurrency=2 --output-logs=new-only

step "end-to-end tests (services as processes)"
npx turbo run e2e --output-logs=new-only

step "benchmark smoke (S2 hot room, S3 full path, S7 overload: checks delivery and honest outcomes, not speed)"
npx turbo run smoke --output-logs=new-only

step "scale-out, CI size (3 gateways, 2 chats, audit consumers 2→3→2, a gateway killed; npm run test:scale)"
SCALE_MESSAGES="${SCALE_MESSAGES:-180}" npx turbo run scale --output-logs=new-only

step "soak, CI size (1 minute of mixed load in S3's shape; nothing lost or doubled asserted, memory slopes and latency only reported at this size; npm run test:soak runs 30 minutes)"
SOAK_MINUTES="${SOAK_MINUTES:-1}" npx turbo run soak --output-logs=new-only

step "fault suite, full size (kill -9 of each component under load, 400 messages per fault, 8 s down)"
FAULT_MESSAGES_PER_FAULT="${FAULT_MESSAGES_PER_FAULT:-400}" FAULT_DOWN_MS="${FAULT_DOWN_MS:-8000}" \
  npx turbo run faults --output-logs=new-only

step "all tests passed"
