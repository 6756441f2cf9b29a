import { describe, expect, it } from 'vitest';
import { RELEASE_VERSION_LABEL } from '../../contracts/kubernetes.js';
import { deploymentProblem } from './health.js';

const ready = (labels: Record<string, string>) => ({
  metadata: { name: 'worker', generation: 3, labels },
  spec: { replicas: 2 },
  status: { observedGeneration: 3, updatedReplicas: 2, readyReplicas: 2 },
});

describe('the upgrade health gate reads the release label the stacks set', () => {
  it('is healthy only when every replica is ready and the label is the expected release', () => {
    expect(deploymentProblem(ready({ [RELEASE_VERSION_LABEL]: '0.2.0' }), '0.2.0')).toBeUndefined();
    expect(deploymentProblem(ready({ [RELEASE_VERSION_LABEL]: '0.1.0' }), '0.2.0')).toBe('worker: running 0.1.0, expected 0.2.0');
    // A Deployment without the label is not this release's, whatever its replicas say.
    expect(deploymentProblem(ready({}), '0.2.0')).toMatch(/no app.kubernetes.io\/version label/);
    expect(deploymentProblem({ ...ready({ [RELEASE_VERSION_LABEL]: '0.2.0' }), status: { observedGeneration: 3, updatedReplicas: 2, readyReplicas: 1 } }, '0.2.0')).toBe('worker: 1/2 replicas ready');
  });
});
