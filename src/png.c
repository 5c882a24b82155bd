/* png.c: see png.h. Layout: signature, IHDR (bit depth 1, colour type 0), one IDAT with a
 * zlib stream (CMF/FLG, stored blocks of at most 65535 bytes, Adler-32 of the raw scanlines),
 * IEND. Each scanline is a filter byte (0, none) and width bits packed MSB first. */
#include "png.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define STORED_MAX 65535u

uint32_t png_crc32(uint32_t crc, const void *data, size_t len)
{
        static uint32_t table[256];
        static bool ready;
        const uint8_t *p = data;

        if (!ready) {
                for (uint32_t n = 0; n < 256; n++) {
                        uint32_t c = n;
                        for (int k = 0; k < 8; k++)
                                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
                        table[n] = c;
                }
                ready = true;
        }
        crc = ~crc;
        for (size_t i = 0; i < len; i++)
                crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
        return ~crc;
}

uint32_t png_adler32(uint32_t adler, const void *data, size_t len)
{
        const uint8_t *p = data;
        uint32_t a = adler & 0xffff, b = adler >> 16;

        for (size_t i = 0; i < len; i++) {
                a = (a + p[i]) % 65521;
                b = (b + a) % 65521;
        }
        return (b << 16) | a;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

/* Writes one chunk at out (length, type, data, CRC over type and data); returns its size. */
static size_t chunk(uint8_t *out, const char type[static 4], const uint8_t *data, size_t len)
{
        put32(out, (uint32_t)len);
        memcpy(out + 4, type, 4);
        if (len)
                memcpy(out + 8, data, len);
        put32(out + 8 + len, png_crc32(0, out + 4, len + 4));
        return len + 12;
}

int png_encode_gray1(const uint8_t *pixels, uint32_t width, uint32_t height, uint8_t **ret,
                     size_t *ret_len)
{
        static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
        size_t stride, raw_len, n_blocks, z_len, total, o = 0;
        uint8_t *raw, *z, *out, ihdr[13];

        if (width == 0 || height == 0 || width > 16384 || height > 16384)
                return -EINVAL;
        stride = 1 + (width + 7) / 8;
        raw_len = stride * height;
        raw = calloc(1, raw_len);
        if (!raw)
                return -ENOMEM;
        for (uint32_t y = 0; y < height; y++)
                for (uint32_t x = 0; x < width; x++)
                        if (pixels[(size_t)y * width + x])
                                raw[y * stride + 1 + x / 8] |= (uint8_t)(0x80u >> (x % 8));

        n_blocks = (raw_len + STORED_MAX - 1) / STORED_MAX;
        z_len = 2 + n_blocks * 5 + raw_len + 4;
        z = malloc(z_len);
        total = sizeof(signature) + (12 + 13) + (12 + z_len) + 12;
        out = malloc(total);
        if (!z || !out) {
                free(raw);
                free(z);
                free(out);
                return -ENOMEM;
        }
        /* zlib header: deflate, 32K window; FCHECK makes CMF*256+FLG a multiple of 31. */
        size_t zo = 0;
        z[zo++] = 0x78;
        z[zo++] = 0x01;
        for (size_t off = 0; off < raw_len; off += STORED_MAX) {
                size_t n = raw_len - off < STORED_MAX ? raw_len - off : STORED_MAX;
                z[zo++] = off + n == raw_len ? 1 : 0; /* BFINAL, BTYPE=00 (stored) */
                z[zo++] = (uint8_t)n;
                z[zo++] = (uint8_t)(n >> 8);
                z[zo++] = (uint8_t)~n;
                z[zo++] = (uint8_t)(~n >> 8);
                memcpy(z + zo, raw + off, n);
                zo += n;
        }
        put32(z + zo, png_adler32(1, raw, raw_len));
        zo += 4;

        put32(ihdr, width);
        put32(ihdr + 4, height);
        ihdr[8] = 1;  /* bit depth */
        ihdr[9] = 0;  /* grayscale */
        ihdr[10] = 0; /* deflate */
        ihdr[11] = 0; /* adaptive filtering (all rows use filter 0) */
        ihdr[12] = 0; /* no interlace */
        memcpy(out, signature, sizeof(signature));
        o = sizeof(signature);
        o += chunk(out + o, "IHDR", ihdr, sizeof(ihdr));
        o += chunk(out + o, "IDAT", z, zo);
        o += chunk(out + o, "IEND", NULL, 0);
        free(raw);
        free(z);
        *ret = out;
        *ret_len = o;
        return 0;
}
