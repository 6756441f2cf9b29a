/**
 * Test support for components and stacks: Pulumi mocks that record every resource
 * the program registers, with realistic computed outputs (ids, emails, endpoints), so
 * tests can assert types, names and the security-relevant inputs of each child.
 *
 * Usage (STYLE.md): install the mocks *before* importing the module under test.
 *
 *   const recorder = await installRecorder();
 *   const { SandboxNamespace } = await import('./sandbox.js');
 */
import * as pulumi from '@pulumi/pulumi';
import { recordingMocks, type RecordedResource } from '../../policies/infra/synth.js';

export { gcpCall, gcpComputed, MOCK_PROJECT, MOCK_PROJECT_NUMBER, type RecordedResource } from '../../policies/infra/synth.js';

export interface Recorder {
  readonly resources: RecordedResource[];
  /** Forget everything recorded so far (between tests). */
  reset(): void;
  /** Resources of one type token, in registration order. */
  ofType(type: string): RecordedResource[];
  /** The one resource of `type` named `name`; throws if absent or ambiguous. */
  get(type: string, name: string): RecordedResource;
}

export async function installRecorder(project = 'claw', stack = 'test'): Promise<Recorder> {
  const resources: RecordedResource[] = [];
  // The one synthesis harness (policies/infra/synth.ts): the same mocked provider answers.
  await pulumi.runtime.setMocks(recordingMocks(resources, { project, stack }), project, stack, false);
  return {
    resources,
    reset: () => void resources.splice(0),
    ofType: (type) => resources.filter((r) => r.type === type),
    get(type, name) {
      const found = resources.filter((r) => r.type === type && r.name === name);
      if (found.length !== 1) {
        const names = resources.filter((r) => r.type === type).map((r) => r.name);
        throw new Error(`expected one ${type} named ${name}, found ${found.length} (have: ${names.join(', ') || 'none'})`);
      }
      return found[0]!;
    },
  };
}

/** The resolved value of an Output (mocks resolve everything, secrets included). */
export function resolve<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((done) => pulumi.output(value).apply((v) => done(v as T)));
}

/**
 * Wait until the program has stopped registering resources: registrations happen after
 * their inputs resolve, so a few turns of the event loop after the last one is enough.
 */
export async function settle(recorder: Recorder, quietTurns = 5): Promise<void> {
  let last = -1;
  let quiet = 0;
  while (quiet < quietTurns) {
    await new Promise((r) => setTimeout(r, 2));
    if (recorder.resources.length === last) quiet++;
    else {
      quiet = 0;
      last = recorder.resources.length;
    }
  }
}
