/** Kubernetes-level components shared by the aws and gcp stacks. */
export * from '../../contracts/kubernetes.js';
export { namespaceLabels, podSecurityNamespace, type PodSecurityLevel } from './namespace.js';
export { SandboxNamespace, type SandboxNamespaceArgs, type GvisorHandler } from './sandbox.js';
export { Temporal, type TemporalArgs, type TemporalPostgres, SELF_HOSTED_TEMPORAL_NAMESPACE } from './temporal.js';
export { OpenBao, type OpenBaoArgs, type SealConfig } from './openbao.js';
export { Runtime, type RuntimeArgs, type TenantWiring, type ComponentScaling, TENANTS_FILE } from './runtime.js';
