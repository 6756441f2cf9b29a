/**
 * The failure converter of every tenant's Workers and clients: a failure's message and stack
 * trace are encoded as a payload, so the tenant's payload codec encrypts them like any other
 * payload. Without it Temporal stores them in the clear in history, and error messages can
 * carry tenant content (a model's refusal, a tool's output). History shows "Encoded failure";
 * a client with the tenant's codec (claw, the codec server) reads the real message.
 *
 * Plain CommonJS beside the workflows: the SDK loads it by path with require() (Workers) and
 * bundles it into the workflow code (failureConverterPath), and the bundle's cache key
 * hashes this directory.
 */
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
