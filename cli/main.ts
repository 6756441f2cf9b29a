import { buildProgram } from './index.js';
import { handleError } from './handle-error.js';

const json = process.argv.includes('--json');
try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  handleError(err, json);
}
