/**
 * How the ads' database errors are told apart: which mean "retry the same event later" (the database was
 * away or busy) and which are answers about the write itself. The projection retries the first kind and
 * never dead-letters an event for it; routes turn it into 503 instead of 500.
 */
import { MongoError, MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb'

/** MongoDB's code for a unique index refusing a second document with the same key. */
export const DUPLICATE_KEY = 11000

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY
}

/**
 * True when the database could not be reached or answered "try later": the write did not fail because
 * of the event, so the caller must retry the same event rather than give up on it.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true
  if (error instanceof MongoError) {
    return (
      error.hasErrorLabel('RetryableWriteError') ||
      error.hasErrorLabel('TransientTransactionError') ||
      error.name === 'MongoTopologyClosedError' ||
      // Shutdown closed the client under a request still waiting on the server.
      error.name === 'MongoClientClosedError' ||
      error.name === 'MongoServerClosedError' ||
      error.name === 'MongoNotConnectedError' ||
      error.name === 'MongoOperationTimeoutError'
    )
  }
  return false
}

/** The ad kept changing under this write (another writer each time): the caller retries later. */
export class WriteContentionError extends Error {
  override readonly name = 'WriteContentionError'
}

/** The server acknowledged fewer inserts than it was sent, without saying why: the caller retries. */
export class IncompleteWriteError extends Error {
  override readonly name = 'IncompleteWriteError'
}
