import { WireFormatError } from './errors'

/** Confluent wire format: magic byte 0, schema id as 4-byte big-endian, then the serialised value. */
export const MAGIC_BYTE = 0
export const HEADER_LENGTH = 5

export function encodeWire(schemaId: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) {
    throw new RangeError(`schema id must be a non-negative 32-bit integer, got ${schemaId}`)
  }
  const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length)
  out.writeUInt8(MAGIC_BYTE, 0)
  out.writeInt32BE(schemaId, 1)
  out.set(payload, HEADER_LENGTH)
  return out
}

export interface WireRecord {
  schemaId: number
  payload: Buffer
}

/** Splits a record value into schema id and payload; throws `WireFormatError` on anything else. */
export function decodeWire(value: Uint8Array | null | undefined): WireRecord {
  if (value === null || value === undefined) throw new WireFormatError('record has no value (tombstone)')
  if (value.length < HEADER_LENGTH) {
    throw new WireFormatError(`record value is ${value.length} bytes, shorter than the 5-byte wire header`)
  }
  const buffer = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length)
  const magic = buffer.readUInt8(0)
  if (magic !== MAGIC_BYTE) {
    throw new WireFormatError(`magic byte is ${magic}, expected ${MAGIC_BYTE} (not Confluent wire format)`)
  }
  const schemaId = buffer.readInt32BE(1)
  if (schemaId < 0) throw new WireFormatError(`schema id ${schemaId} is negative`)
  return { schemaId, payload: buffer.subarray(HEADER_LENGTH) }
}

/** Parses the JSON payload; throws `WireFormatError` when it is not UTF-8 JSON. */
export function parseJsonPayload(payload: Uint8Array): unknown {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload)
  } catch {
    throw new WireFormatError('payload is not valid UTF-8')
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new WireFormatError(`payload is not JSON: ${(error as Error).message}`)
  }
}
