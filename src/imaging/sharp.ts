/**
 * sharp, set up once for the gateway: no operation cache (every scan is decoded once; the cache
 * would only keep up to 50 MB of pixels alive) and one libvips thread per operation (two cores,
 * one of them the analysis worker's; a PNG decode is sequential anyway, measured no slower).
 * Every imaging module takes sharp from here.
 */
import sharp from 'sharp';

sharp.cache(false);
sharp.concurrency(1);

export default sharp;
