/** Where the failure converter lives (runtime/workflows/failure-converter.cjs), and the converter itself for clients. */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FailureConverter } from '@temporalio/common';

export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('../workflows/failure-converter.cjs', import.meta.url));
export const failureConverter = (createRequire(import.meta.url)(FAILURE_CONVERTER_PATH) as { failureConverter: FailureConverter }).failureConverter;
