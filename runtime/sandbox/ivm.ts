/**
 * The `isolated-vm` build for this Node: no one release builds against every supported
 * Node's V8 (5.x builds on Node 20 and not 24; 6.x needs Node 22+). Both are optional
 * dependencies; npm installs the one whose engines match, and this loads it.
 */
import { createRequire } from 'node:module';
import type IsolatedVm from 'isolated-vm';
import { ClawError } from '../../core/errors.js';

const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);
export const IVM_PACKAGE = nodeMajor >= 22 ? 'isolated-vm-node22' : 'isolated-vm';

function load(): typeof IsolatedVm {
  try {
    return require(IVM_PACKAGE) as typeof IsolatedVm;
  } catch (err) {
    throw new ClawError('SANDBOX_UNAVAILABLE', `the JavaScript sandbox (${IVM_PACKAGE}) is not installed for Node ${process.versions.node}`, {
      hint: `run 'npm ci' with this Node (it builds ${IVM_PACKAGE}); a C++ toolchain is needed where no prebuilt binary fits`,
      cause: err,
    });
  }
}

const ivm = load();
export default ivm;

