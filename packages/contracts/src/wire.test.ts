import { describe, expect, test } from 'bun:test'
import { WireFormatError } from './errors'
import { decodeWire, encodeWire, parseJsonPayload } from './wire'

describe('Confluent wire format', () => {
  test('hand-made bytes: magic 0, big-endian id, JSON payload', () => {
    const bytes = Uint8Array.from([0, 0x00, 0x01, 0x02, 0x03, ...new TextEncoder().encode('{"a":1}')])
    const { schemaId, payload } = decodeWire(bytes)
    expect(schemaId).toBe(0x00010203)
    expect(parseJsonPayload(payload)).toEqual({ a: 1 })
  })

  test('encode writes exactly the header and the payload', () => {
    const out = encodeWire(258, new TextEncoder().encode('{}'))
    expect([...out]).toEqual([0, 0, 0, 1, 2, 0x7b, 0x7d])
    expect(decodeWire(out)).toEqual({ schemaId: 258, payload: Buffer.from('{}') })
  })

  test('an empty JSON payload after the header is a wire-format error, not a crash', () => {
    expect(() => parseJsonPayload(decodeWire(Uint8Array.from([0, 0, 0, 0, 1])).payload)).toThrow(
      WireFormatError,
    )
  })

  test.each([
    ['too short', Uint8Array.from([0, 0, 0, 1]), 'shorter than the 5-byte wire header'],
    ['wrong magic byte', Uint8Array.from([1, 0, 0, 0, 1, 0x7b, 0x7d]), 'magic byte is 1'],
    ['plain JSON without header', new TextEncoder().encode('{"vin":"x"}'), 'magic byte is 123'],
    ['negative id', Uint8Array.from([0, 0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d]), 'negative'],
    ['a tombstone', null, 'tombstone'],
  ])('%s is refused with WireFormatError', (_name, bytes, message) => {
    expect(() => decodeWire(bytes)).toThrow(WireFormatError)
    expect(() => decodeWire(bytes)).toThrow(message)
  })

  test('a payload that is not JSON or not UTF-8 is refused with WireFormatError', () => {
    expect(() => parseJsonPayload(new TextEncoder().encode('{"vin":'))).toThrow('payload is not JSON')
    expect(() => parseJsonPayload(Uint8Array.from([0xff, 0xfe]))).toThrow('not valid UTF-8')
  })

  test('the schema id must fit the 4-byte header', () => {
    expect(() => encodeWire(2 ** 31, new Uint8Array())).toThrow(RangeError)
    expect(() => encodeWire(-1, new Uint8Array())).toThrow(RangeError)
  })
})
