#!/usr/bin/env node
// Validates the Kubernetes manifests offline: renders each kustomization (base and every
// overlay) with kustomize, checks every object against the Kubernetes OpenAPI schemas
// (kubernetes-models: compiled validators, no network), then checks what a schema cannot see:
// references between objects and conversa's own rules (probes, resources, drain timing).
//
//   node infra/k8s/validate.mjs          (npm run k8s:validate)
//
// kustomize comes from $KUSTOMIZE, or is built once from the Go module proxy into
// $CONVERSA_CACHE_DIR/kustomize/<version>/ (default ~/.cache/conversa), like infra/local/infra.sh.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const KUSTOMIZE_VERSION = 'v5.5.0';
/** The services' drain ends within this (packages/observability/src/lifecycle.ts), seconds. */
const DRAIN_S = 30;
const here = dirname(fileURLToPath(import.meta.url));

function kustomize() {
  if (process.env.KUSTOMIZE) return process.env.KUSTOMIZE;
  const dir = join(
    process.env.CONVERSA_CACHE_DIR ?? join(homedir(), '.cache', 'conversa'),
    'kustomize',
    KUSTOMIZE_VERSION,
  );
  const bin = join(dir, 'kustomize');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    console.log(
      `k8s: building kustomize ${KUSTOMIZE_VERSION} from the Go module proxy into ${dir}`,
    );
    execFileSync('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], {
      stdio: 'inherit',
      env: {
        ...process.env,
        GOBIN: dir,
        GOFLAGS: '-mod=mod',
        GOTOOLCHAIN: 'local',
        CGO_ENABLED: '0',
      },
    });
  }
  return bin;
}

/** Every folder with a kustomization.yaml under infra/k8s. */
function targets() {
  const out = [];
  const walk = (d) => {
    if (existsSync(join(d, 'kustomization.yaml'))) out.push(d);
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(here);
  return out.sort();
}

async function schemaProblems(obj) {
  const { apiVersion, kind } = obj;
  let Model;
  try {
    Model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind];
  } catch {
    return [`${apiVersion} ${kind}: not a Kubernetes API this validator knows`];
  }
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [String(e.message ?? e)];
  }
}

/** What the schemas cannot check: references and conversa's operating rules. */
function policyProblems(objs) {
  const problems = [];
  const byKind = (k) => objs.filter((o) => o.kind === k);
  const names = (k) => new Set(byKind(k).map((o) => o.metadata.name));
  const deployments = byKind('Deployment');
  const matches = (selector, labels) =>
    Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

  for (const d of deployments) {
    const n = `Deployment ${d.metadata.name}`;
    const pod = d.spec.template.spec;
    if (!matches(d.spec.selector.matchLabels, d.spec.template.metadata?.labels))
      problems.push(`${n}: selector does not match its pod labels`);
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    for (const c of pod.containers) {
      const cn = `${n}/${c.name}`;
      if (c.readinessProbe?.httpGet?.path !== '/readyz')
        problems.push(`${cn}: readinessProbe must GET /readyz`);
      if (c.livenessProbe?.httpGet?.path !== '/healthz')
        problems.push(`${cn}: livenessProbe must GET /healthz`);
      for (const r of ['cpu', 'memory']) {
        if (!c.resources?.requests?.[r]) problems.push(`${cn}: no ${r} request`);
      }
      if (!c.resources?.limits?.memory) problems.push(`${cn}: no memory limit`);
      const sleep = Number(
        c.lifecycle?.preStop?.exec?.command?.at(-1) ?? c.lifecycle?.preStop?.sleep?.seconds ?? 0,
      );
      if (!(sleep > 0))
        problems.push(`${cn}: no preStop pause (endpoints must drain before SIGTERM)`);
      if (grace < sleep + DRAIN_S)
        problems.push(
          `${cn}: terminationGracePeriodSeconds ${grace} < preStop ${sleep} s + drain ${DRAIN_S} s`,
        );
      const ports = new Set((c.ports ?? []).map((p) => p.name));
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        const port = probe?.httpGet?.port;
        if (typeof port === 'string' && !ports.has(port))
          problems.push(`${cn}: probe port "${port}" is not a named container port`);
      }
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef && !names('ConfigMap').has(e.configMapRef.name))
          problems.push(`${cn}: ConfigMap ${e.configMapRef.name} is not rendered`);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        // A Secret made out of band (production) is allowed when nothing renders it at all.
        if (ref && byKind('Secret').length > 0 && !names('Secret').has(ref.name))
          problems.push(`${cn}: Secret ${ref.name} is not rendered`);
      }
    }
  }
  for (const s of byKind('Service')) {
    if (!s.spec.selector) continue; // deliberately endpoint-less
    const target = deployments.find((d) =>
      matches(s.spec.selector, d.spec.template.metadata?.labels),
    );
    if (!target) problems.push(`Service ${s.metadata.name}: selects no Deployment`);
  }
  for (const k of ['HorizontalPodAutoscaler']) {
    for (const h of byKind(k)) {
      if (!names(h.spec.scaleTargetRef.kind).has(h.spec.scaleTargetRef.name))
        problems.push(
          `${k} ${h.metadata.name}: no ${h.spec.scaleTargetRef.kind} ${h.spec.scaleTargetRef.name}`,
        );
      if (h.spec.minReplicas < 2)
        problems.push(`${k} ${h.metadata.name}: minReplicas < 2 leaves no pod during a disruption`);
    }
  }
  for (const p of byKind('PodDisruptionBudget')) {
    if (
      !deployments.some((d) =>
        matches(p.spec.selector.matchLabels, d.spec.template.metadata?.labels),
      )
    )
      problems.push(`PodDisruptionBudget ${p.metadata.name}: selects no Deployment`);
  }
  for (const want of ['gateway', 'chat']) {
    if (!byKind('HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef.name === want))
      problems.push(`no HorizontalPodAutoscaler for ${want}`);
  }
  for (const d of deployments) {
    if (
      !byKind('PodDisruptionBudget').some((p) =>
        matches(p.spec.selector.matchLabels, d.spec.template.metadata?.labels),
      )
    )
      problems.push(`Deployment ${d.metadata.name}: no PodDisruptionBudget`);
  }
  for (const i of byKind('Ingress')) {
    for (const rule of i.spec.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const svc = byKind('Service').find((s) => s.metadata.name === p.backend.service?.name);
        if (!svc) {
          problems.push(
            `Ingress ${i.metadata.name}: ${p.path} → no Service ${p.backend.service?.name}`,
          );
          continue;
        }
        const port = p.backend.service.port;
        if (!svc.spec.ports.some((sp) => sp.name === port.name || sp.port === port.number))
          problems.push(
            `Ingress ${i.metadata.name}: ${p.path} → Service ${svc.metadata.name} has no port ${port.name ?? port.number}`,
          );
      }
    }
  }
  return problems;
}

async function main() {
  // The validator must be able to say no: a known-bad object has to fail.
  const selfTest = await schemaProblems({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: {
      selector: {},
      template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 'http' }] }] } },
    },
  });
  if (selfTest.length === 0)
    throw new Error('k8s: the schema validator accepted a broken Deployment');

  const bin = kustomize();
  let failed = 0;
  for (const dir of targets()) {
    const name = relative(here, dir);
    const rendered = execFileSync(bin, ['build', dir], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const docs = parseAllDocuments(rendered);
    const objs = [];
    const problems = [];
    for (const doc of docs) {
      if (doc.errors.length > 0) problems.push(...doc.errors.map((e) => `YAML: ${e.message}`));
      const obj = doc.toJS();
      if (!obj) continue;
      objs.push(obj);
      for (const p of await schemaProblems(obj))
        problems.push(`${obj.kind} ${obj.metadata?.name}: ${p}`);
    }
    problems.push(...policyProblems(objs));
    if (problems.length > 0) {
      failed++;
      console.error(`k8s: ${name}: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
    } else {
      const kinds = [...new Set(objs.map((o) => o.kind))].join(', ');
      console.log(`k8s: ${name}: ${objs.length} objects valid (${kinds})`);
    }
  }
  if (failed > 0) process.exit(1);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
