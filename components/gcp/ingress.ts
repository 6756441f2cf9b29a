/**
 * The public edge: a global external HTTPS load balancer (GCLB) created by GKE Ingress,
 * with a reserved global IP, a Google-managed certificate for the gateway and codec
 * hosts, an SSL policy (TLS 1.2+, MODERN ciphers) and no plain-HTTP listener. Traffic goes
 * straight to pods through network endpoint groups (container-native load balancing).
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';

export interface GatewayIngressArgs {
  provider: gcp.Provider;
  k8sProvider: k8s.Provider;
  domain: string;
  namespace: pulumi.Input<string>;
  gatewayService: pulumi.Input<string>;
  codecServerService: pulumi.Input<string>;
}

const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Annotation to request container-native load balancing on a Service. */
export const NEG_ANNOTATION = { 'cloud.google.com/neg': '{"ingress": true}' };

export function codecHost(domain: string): string {
  return `codec.${domain}`;
}

export class GatewayIngress extends pulumi.ComponentResource {
  readonly gatewayUrl: string;
  readonly codecServerUrl: string;
  readonly ipAddress: pulumi.Output<string>;

  constructor(name: string, args: GatewayIngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:GatewayIngress', name, {}, opts);
    if (!args?.provider || !args.k8sProvider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'gcp and Kubernetes providers are required' });
    if (!DOMAIN.test(args.domain ?? '')) {
      throw new pulumi.InputPropertyError({ propertyPath: 'domain', reason: `'${args.domain}' is not a DNS name like claw.example.com` });
    }
    const gcpChild = { parent: this, provider: args.provider };
    const k8sChild = { parent: this, provider: args.k8sProvider };

    const address = new gcp.compute.GlobalAddress(`${name}-ip`, { name: `${name}-ip`, addressType: 'EXTERNAL', ipVersion: 'IPV4' }, gcpChild);
    const certificate = new gcp.compute.ManagedSslCertificate(`${name}-cert`, {
      name: `${name}-cert`,
      managed: { domains: [args.domain, codecHost(args.domain)] },
    }, gcpChild);
    const sslPolicy = new gcp.compute.SSLPolicy(`${name}-tls`, { name: `${name}-tls`, minTlsVersion: 'TLS_1_2', profile: 'MODERN' }, gcpChild);

    const frontend = new k8s.apiextensions.CustomResource(`${name}-frontend`, {
      apiVersion: 'networking.gke.io/v1beta1',
      kind: 'FrontendConfig',
      metadata: { name: 'claw-frontend', namespace: args.namespace },
      spec: { sslPolicy: sslPolicy.name, redirectToHttps: { enabled: true } },
    }, k8sChild);

    const backend = (service: pulumi.Input<string>) => ({ service: { name: service, port: { number: 80 } } });
    new k8s.networking.v1.Ingress(`${name}`, {
      metadata: {
        name: 'claw',
        namespace: args.namespace,
        annotations: {
          'kubernetes.io/ingress.class': 'gce',
          'kubernetes.io/ingress.allow-http': 'false',
          'kubernetes.io/ingress.global-static-ip-name': address.name,
          'ingress.gcp.kubernetes.io/pre-shared-cert': certificate.name,
          'networking.gke.io/v1beta1.FrontendConfig': frontend.metadata.name,
        },
      },
      spec: {
        rules: [
          { host: args.domain, http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend(args.gatewayService) }] } },
          { host: codecHost(args.domain), http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend(args.codecServerService) }] } },
        ],
      },
    }, k8sChild);

    this.gatewayUrl = `https://${args.domain}`;
    this.codecServerUrl = `https://${codecHost(args.domain)}`;
    this.ipAddress = address.address;
    this.registerOutputs({ gatewayUrl: this.gatewayUrl, codecServerUrl: this.codecServerUrl, ipAddress: this.ipAddress });
  }
}
