/**
 * The failure converter of the Workers and clients: a failure's message and stack trace are
 * encoded as a payload, so the payload codec encrypts them under the workflow's tenant key
 * like any other payload. Without it Temporal stores them in the clear in history, and
 * error messages can carry tenant content (a model's refusal, a tool's output). History
 * shows "Encoded failure"; a client with the tenant's codec (claw, the codec server) reads
 * the real message.
 *
 * One exception: a failure converted with no serialization context, which names no
 * workflow and so no tenant key. The Worker does that only for a workflow task that failed
 * outside workflow code — a payload the codec refused, a key that is shredded — whose
 * message is claw's own (a code and ids, no tenant content). It stays readable in history
 * instead of being sealed under a key nobody can choose.
 *
 * Plain CommonJS beside the workflows: the SDK loads it by path with require() (Workers) and
 * bundles it into the workflow code (failureConverterPath), and the bundle's cache key
 * hashes this directory.
 */
const { DefaultFailureConverter } = require('@temporalio/common');

const sealed = new DefaultFailureConverter({ encodeCommonAttributes: true });
const plain = new DefaultFailureConverter({ encodeCommonAttributes: false });

exports.failureConverter = {
  errorToFailure: (err, payloadConverter, context) => (context ? sealed : plain).errorToFailure(err, payloadConverter, context),
  failureToError: (failure, payloadConverter, context) => sealed.failureToError(failure, payloadConverter, context),
};
