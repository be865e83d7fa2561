// Deterministic synthetic clusters for the benchmark (same idea as `netpol generate`, kept
// here so the browser benchmark needs nothing but dist/). A tiny LCG: same seed, same text.
export function generate(pods, policies, seed = 1) {
  let s = BigInt(seed) || 1n;
  const rnd = (n) => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return Number((s >> 33n) % BigInt(n));
  };
  const nsCount = Math.max(2, Math.round(pods / 40));
  const apps = Math.max(4, Math.round(pods / 8));
  const tiers = ['web', 'api', 'db', 'cache'];
  const cluster = ['apiVersion: v1', 'kind: List', 'items:'];
  for (let n = 0; n < nsCount; n++) {
    cluster.push(`- {apiVersion: v1, kind: Namespace, metadata: {name: ns${n}, labels: {team: t${n % 5}}}}`);
  }
  for (let p = 0; p < pods; p++) {
    const ns = p % nsCount;
    const app = rnd(apps);
    const tier = tiers[rnd(tiers.length)];
    const ip = `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255}`;
    cluster.push(
      `- {apiVersion: v1, kind: Pod, metadata: {name: pod${p}, namespace: ns${ns}, labels: {app: app${app}, tier: ${tier}}}, ` +
        `spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: ${8000 + (app % 10)}}]}]}, status: {podIP: ${ip}}}`,
    );
  }
  const docs = [];
  for (let i = 0; i < policies; i++) {
    const ns = rnd(nsCount);
    const target = rnd(apps);
    const from = rnd(apps);
    const port = [80, 443, 8080, 5432, 53][rnd(5)];
    const lines = [
      'apiVersion: networking.k8s.io/v1',
      'kind: NetworkPolicy',
      `metadata: {name: pol${i}, namespace: ns${ns}}`,
      'spec:',
      `  podSelector: {matchLabels: {app: app${target}}}`,
      '  ingress:',
      `  - from: [{podSelector: {matchLabels: {app: app${from}}}, namespaceSelector: {matchLabels: {team: t${rnd(5)}}}}]`,
      `    ports: [{port: ${port}}]`,
    ];
    if (rnd(3) === 0) {
      lines.push('  egress:');
      lines.push(`  - to: [{ipBlock: {cidr: 10.${rnd(4)}.0.0/16}}]`);
      lines.push(`    ports: [{port: ${port}, protocol: TCP}]`);
    }
    docs.push(lines.join('\n'));
  }
  return { cluster: cluster.join('\n') + '\n', policies: docs.join('\n---\n') + '\n' };
}

// The same shape as `generate`, written as one document per object (as `kubectl get -o
// yaml` of separate objects, or a directory of manifests concatenated): an edit touches one
// document, which is what the playground's incremental parsing is for.
export function generateDocs(pods, policies, seed = 1) {
  const { cluster, policies: pol } = generate(pods, policies, seed);
  const items = cluster
    .split('\n')
    .filter((l) => l.startsWith('- {'))
    .map((l) => l.slice(2));
  return { cluster: items.join('\n---\n') + '\n', policies: pol };
}

// A dense little example: `n` Deployments in two namespaces, every one admitting traffic
// from some of the others on its own port, a default deny in one namespace, DNS egress.
export function deployments(n = 7) {
  const names = ['web', 'api', 'auth', 'cart', 'db', 'cache', 'queue', 'search', 'mail', 'audit'].slice(0, n);
  const cluster = [];
  names.forEach((name, i) => {
    const ns = i % 3 === 2 ? 'data' : 'shop';
    cluster.push(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        `metadata: {name: ${name}, namespace: ${ns}}`,
        'spec:',
        `  selector: {matchLabels: {app: ${name}}}`,
        '  template:',
        `    metadata: {labels: {app: ${name}, tier: t${i % 3}}}`,
        `    spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: ${8080 + i}}]}]}`,
      ].join('\n'),
    );
  });
  const policies = [
    'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: data}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]',
  ];
  names.forEach((name, i) => {
    const ns = i % 3 === 2 ? 'data' : 'shop';
    const from = names.filter((_, j) => j !== i && (j + i) % 2 === 1);
    policies.push(
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        `metadata: {name: ${name}-in, namespace: ${ns}}`,
        'spec:',
        `  podSelector: {matchLabels: {app: ${name}}}`,
        '  ingress:',
        `  - from: [${from.map((f) => `{namespaceSelector: {}, podSelector: {matchLabels: {app: ${f}}}}`).join(', ')}]`,
        `    ports: [{port: ${8080 + i}}]`,
      ].join('\n'),
    );
  });
  return { cluster: cluster.join('\n---\n') + '\n', policies: policies.join('\n---\n') + '\n' };
}
