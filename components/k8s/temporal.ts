/**
 * Temporal for an install: the Temporal Helm chart with Postgres persistence on the
 * metadata DB server (its own `temporal` and `temporal_visibility` databases), or, when
 * claw.yaml says `temporal.mode: cloud`, nothing at all: the runtime is pointed at the
 * Temporal Cloud namespace instead.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import type { ClawConfig } from '../../core/config/schema.js';
import { TEMPORAL_NAMESPACE } from '../../contracts/kubernetes.js';
import { podSecurityNamespace } from './namespace.js';

export const TEMPORAL_CHART_REPO = 'https://go.temporal.io/helm-charts';
export const TEMPORAL_DB_SECRET = 'temporal-db';
/** The Temporal namespace the runtime uses when self-hosted (one namespace; tenants are task queues). */
export const SELF_HOSTED_TEMPORAL_NAMESPACE = 'default';

export interface TemporalPostgres {
  host: pulumi.Input<string>;
  port?: number;
  user: pulumi.Input<string>;
  /** The component stores it in Secret `temporal-db` (key `password`)... */
  password?: pulumi.Input<string>;
  /** ...or names an existing Secret in the `temporal` namespace with key `password`. */
  passwordSecretName?: string;
  database?: string;
  visibilityDatabase?: string;
  /** Require TLS to Postgres (Cloud SQL ENCRYPTED_ONLY, RDS force_ssl). Default true. */
  tls?: boolean;
}

export interface TemporalArgs {
  provider: k8s.Provider;
  mode: ClawConfig['temporal'];
  chartVersion: string;
  serverVersion: string;
  postgres?: TemporalPostgres;
  /** History shards cannot change after install. Default 512. */
  historyShards?: number;
}

/** Checks the arguments; every failure is an InputPropertyError naming the field. */
export function validateTemporalArgs(args: TemporalArgs): void {
  if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a Kubernetes provider is required' });
  if (!args.mode) throw new pulumi.InputPropertyError({ propertyPath: 'mode', reason: "pass claw.yaml's temporal section" });
  if (args.mode.mode === 'cloud') return;
  if (!args.postgres) throw new pulumi.InputPropertyError({ propertyPath: 'postgres', reason: 'self-hosted Temporal needs the metadata DB (host, user, password)' });
  const hasPassword = args.postgres.password !== undefined;
  const hasSecret = args.postgres.passwordSecretName !== undefined;
  if (hasPassword === hasSecret) {
    throw new pulumi.InputPropertyError({ propertyPath: 'postgres.password', reason: 'give exactly one of postgres.password or postgres.passwordSecretName' });
  }
  if (!/^\d+\.\d+\.\d+/.test(args.chartVersion ?? '')) {
    throw new pulumi.InputPropertyError({ propertyPath: 'chartVersion', reason: 'pin the Temporal chart version (versions.temporalChart), e.g. 0.66.0' });
  }
}

function sqlStore(pg: TemporalPostgres, database: string, secretName: string) {
  return {
    driver: 'postgres12',
    host: pg.host,
    port: pg.port ?? 5432,
    database,
    user: pg.user,
    existingSecret: secretName,
    maxConns: 20,
    maxConnLifetime: '1h',
    // Cloud SQL and RDS present certificates for their own names, not the private IP.
    tls: { enabled: pg.tls ?? true, enableHostVerification: false },
  };
}

/** Helm values for the Temporal chart: SQL persistence only, no bundled databases or dashboards. */
export function temporalValues(args: TemporalArgs, secretName: string) {
  const pg = args.postgres!;
  return {
    server: {
      replicaCount: 2,
      image: { tag: args.serverVersion },
      config: {
        numHistoryShards: args.historyShards ?? 512,
        persistence: {
          defaultStore: 'default',
          default: { driver: 'sql', sql: sqlStore(pg, pg.database ?? 'temporal', secretName) },
          visibility: { driver: 'sql', sql: sqlStore(pg, pg.visibilityDatabase ?? 'temporal_visibility', secretName) },
        },
        namespaces: { create: true, namespace: [{ name: SELF_HOSTED_TEMPORAL_NAMESPACE, retention: '7d' }] },
      },
    },
    schema: { createDatabase: { enabled: true }, setup: { enabled: true }, update: { enabled: true } },
    cassandra: { enabled: false },
    mysql: { enabled: false },
    postgresql: { enabled: false },
    elasticsearch: { enabled: false },
    prometheus: { enabled: false },
    grafana: { enabled: false },
    web: { enabled: true },
  };
}

export class Temporal extends pulumi.ComponentResource {
  /** host:port the runtime's Temporal clients dial. */
  readonly address: pulumi.Output<string>;
  /** The Temporal namespace to use. */
  readonly namespace: pulumi.Output<string>;
  readonly cloud: boolean;
  /** Temporal Cloud: name of the install secret holding the API key. */
  readonly apiKeySecret?: string;

  constructor(name: string, args: TemporalArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:k8s:Temporal', name, {}, opts);
    validateTemporalArgs(args);
    const mode = args.mode;
    this.cloud = mode.mode === 'cloud';

    if (mode.mode === 'cloud') {
      this.address = pulumi.output(mode.address);
      this.namespace = pulumi.output(mode.namespace);
      this.apiKeySecret = mode.apiKeySecret;
    } else {
      const child = { parent: this, provider: args.provider };
      const ns = podSecurityNamespace(`${name}-ns`, TEMPORAL_NAMESPACE, 'baseline', child);
      const pg = args.postgres!;
      let secretName = pg.passwordSecretName ?? TEMPORAL_DB_SECRET;
      const dependsOn: pulumi.Resource[] = [ns];
      if (pg.password !== undefined) {
        const secret = new k8s.core.v1.Secret(`${name}-db`, {
          metadata: { name: TEMPORAL_DB_SECRET, namespace: ns.metadata.name },
          type: 'Opaque',
          stringData: { password: pulumi.secret(pg.password) },
        }, child);
        dependsOn.push(secret);
        secretName = TEMPORAL_DB_SECRET;
      }
      const release = new k8s.helm.v3.Release(`${name}-release`, {
        name: 'temporal',
        chart: 'temporal',
        version: args.chartVersion,
        repositoryOpts: { repo: TEMPORAL_CHART_REPO },
        namespace: ns.metadata.name,
        values: temporalValues(args, secretName),
        atomic: true,
        timeout: 900,
      }, { ...child, dependsOn });
      this.address = pulumi.interpolate`${release.name}-frontend.${release.namespace}.svc.cluster.local:7233`;
      this.namespace = pulumi.output(SELF_HOSTED_TEMPORAL_NAMESPACE);
    }
    this.registerOutputs({ address: this.address, namespace: this.namespace });
  }
}
