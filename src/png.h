/* png.h: a minimal PNG writer for black-and-white images (QR codes).
 *
 * No zlib: the image data is a zlib stream of "stored" (uncompressed) deflate blocks,
 * with our own CRC-32 and Adler-32. 1-bit grayscale, so a 45-module QR code at 8 pixels
 * per module is about 16 KiB. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (ISO-HDLC, as PNG and zlib use it) and Adler-32, continuable: pass the previous
 * result (0 for crc, 1 for adler) to continue over more data. */
uint32_t png_crc32(uint32_t crc, const void *data, size_t len);
uint32_t png_adler32(uint32_t adler, const void *data, size_t len);

/* Encodes a width x height image, pixels row-major, one byte per pixel: 0 black, anything
 * else white. Returns 0 and a malloc'd buffer, or -EINVAL / -ENOMEM. */
int png_encode_gray1(const uint8_t *pixels, uint32_t width, uint32_t height, uint8_t **ret,
                     size_t *ret_len);
