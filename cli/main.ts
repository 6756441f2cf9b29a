import { buildProgram } from './index.js';
import { handleError } from './handle-error.js';

const json = process.argv.includes('--json');
try {
  await (await buildProgram(process.argv)).parseAsync(process.argv);
} catch (err) {
  handleError(err, json);
}
