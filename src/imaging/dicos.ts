/**
 * DICOS DX radiographs (NEMA DICOS, DICOM-based; SOP classes 1.2.840.10008.5.1.4.1.1.501.2.1 /
 * .501.2.2) read with dicom-parser. Only uncompressed 16-bit unsigned monochrome pixel data is
 * accepted; the declared size is checked before the pixel data is touched.
 * MONOCHROME2 (higher = brighter = more transmission) maps to `transmission` polarity,
 * MONOCHROME1 to `attenuation`.
 */
import dicomParser from 'dicom-parser';
import { GatewayError } from '../core/errors.js';
import type { DecodeLimits, DecodedImage } from './decode.js';

export const DICOS_DX_SOP_CLASSES = [
  '1.2.840.10008.5.1.4.1.1.501.2.1',
  '1.2.840.10008.5.1.4.1.1.501.2.2',
] as const;
const UNCOMPRESSED = ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1'];
/** Whether this host stores a Uint16Array little endian, as DICOS pixel data is. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export function isDicom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

export function decodeDicos(
  bytes: Uint8Array,
  name: string,
  limits: DecodeLimits,
): Omit<DecodedImage, 'format'> {
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (error) {
    const message =
      error instanceof Error ? error.message : typeof error === 'string' ? error : 'parse error';
    throw new GatewayError(
      'IMAGE_CORRUPT',
      `${name}: DICOS file could not be parsed: ${message}`,
      { name },
      { cause: error },
    );
  }
  const sopClass = ds.string('x00080016') ?? '';
  if (!(DICOS_DX_SOP_CLASSES as readonly string[]).includes(sopClass)) {
    throw new GatewayError('IMAGE_UNSUPPORTED', `${name}: SOP class '${sopClass}' is not a DICOS DX image`, {
      name,
      sopClass,
    });
  }
  const syntax = ds.string('x00020010') ?? '';
  if (!UNCOMPRESSED.includes(syntax))
    throw new GatewayError(
      'IMAGE_UNSUPPORTED',
      `${name}: transfer syntax ${syntax} is not supported (uncompressed little endian only)`,
      { name, syntax },
    );
  const rows = ds.uint16('x00280010') ?? 0;
  const cols = ds.uint16('x00280011') ?? 0;
  if (!(rows > 0 && cols > 0))
    throw new GatewayError('IMAGE_CORRUPT', `${name}: DICOS image declares ${cols} × ${rows} pixels`, {
      name,
    });
  if (rows > limits.maxSide || cols > limits.maxSide || rows * cols > limits.maxPixels)
    throw new GatewayError(
      'IMAGE_TOO_LARGE',
      `${name}: DICOS image declares ${cols} × ${rows} pixels, above the limit`,
      { name, width: cols, height: rows },
    );
  const bits = ds.uint16('x00280100');
  const samples = ds.uint16('x00280002') ?? 1;
  const signed = ds.uint16('x00280103') ?? 0;
  if (bits !== 16 || samples !== 1 || signed !== 0)
    throw new GatewayError(
      'IMAGE_UNSUPPORTED',
      `${name}: DICOS pixels are ${bits ?? '?'}-bit, ${samples} sample(s), ${signed ? 'signed' : 'unsigned'}; 16-bit unsigned greyscale needed`,
      { name, bits, samples },
    );
  const pixel = ds.elements.x7fe00010;
  if (!pixel || pixel.length < rows * cols * 2 || pixel.dataOffset + rows * cols * 2 > bytes.length)
    throw new GatewayError(
      'IMAGE_CORRUPT',
      `${name}: DICOS pixel data is missing or shorter than ${cols} × ${rows} × 2 bytes`,
      { name },
    );
  const data = new Uint16Array(rows * cols);
  const raw = bytes.subarray(pixel.dataOffset, pixel.dataOffset + rows * cols * 2);
  if (LITTLE_ENDIAN)
    new Uint8Array(data.buffer).set(raw); // one memcpy, not a loop per pixel
  else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < data.length; i++) data[i] = view.getUint16(i * 2, true);
  }
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim();
  const uid = ds.string('x00080018');
  return {
    image: { width: cols, height: rows, data },
    meta: {
      polarity: photometric === 'MONOCHROME1' ? 'attenuation' : 'transmission',
      ...(uid ? { scanId: uid } : {}),
    },
  };
}
