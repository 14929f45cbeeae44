import { resolve } from 'node:path'

/** Package-relative path of the committed AsyncAPI document. */
export const ASYNCAPI_FILE = 'asyncapi/asyncapi.json'

/** Its absolute path: the services serve this file as it is. */
export const ASYNCAPI_DOCUMENT_PATH = resolve(import.meta.dir, '..', '..', ASYNCAPI_FILE)
