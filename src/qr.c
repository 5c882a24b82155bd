/* qr.c: see qr.h. Error correction level M (15%): stickers get scratched. The PNG is
 * written by libpng's simplified API (png_image_write_to_memory): 8-bit grayscale, whose
 * deflate makes the flat areas of a QR code cost next to nothing. Nothing is kept between
 * calls. */
#include "qr.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static int encode(const char *text, QRcode **ret)
{
        QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
        if (!q)
                return errno > 0 ? -errno : -EINVAL;
        *ret = q;
        return 0;
}

/* True when module (x, y) of the bordered image is dark. */
static bool dark(const QRcode *q, int x, int y)
{
        x -= QR_QUIET_ZONE;
        y -= QR_QUIET_ZONE;
        if (x < 0 || y < 0 || x >= q->width || y >= q->width)
                return false;
        return q->data[y * q->width + x] & 1;
}

int qr_print_utf8(FILE *f, const char *text)
{
        static const char *const glyph[4] = {
                "\u2588", /* both light */
                "\u2584", /* upper dark, lower light */
                "\u2580", /* upper light, lower dark */
                " ",      /* both dark */
        };
        QRcode *q = NULL;
        int r = encode(text, &q), size;

        if (r < 0)
                return r;
        size = q->width + 2 * QR_QUIET_ZONE;
        for (int y = 0; y < size; y += 2) {
                for (int x = 0; x < size; x++)
                        fputs(glyph[dark(q, x, y) | (dark(q, x, y + 1) && y + 1 < size) << 1], f);
                fputc('\n', f);
        }
        QRcode_free(q);
        return ferror(f) ? -EIO : 0;
}

/* Encodes side x side gray pixels (0 black, 255 white) as a PNG into a malloc'd buffer:
 * a first call measures, the second writes. */
static int png_write(const uint8_t *gray, uint32_t side, uint8_t **ret, size_t *ret_len)
{
        png_image image = {
                .version = PNG_IMAGE_VERSION,
                .width = side,
                .height = side,
                .format = PNG_FORMAT_GRAY,
        };
        png_alloc_size_t len = 0;
        uint8_t *out = NULL;

        if (png_image_write_to_memory(&image, NULL, &len, 0, gray, 0, NULL)) {
                out = xmalloc(len);
                if (png_image_write_to_memory(&image, out, &len, 0, gray, 0, NULL)) {
                        *ret = out;
                        *ret_len = len;
                        return 0;
                }
                free(out);
        }
        log_warn("qr: libpng could not write a %ux%u image: %s", side, side, image.message);
        png_image_free(&image);
        return -EIO;
}

int qr_png(const char *text, unsigned scale, uint8_t **ret, size_t *ret_len)
{
        QRcode *q = NULL;
        uint8_t *px;
        uint32_t side;
        int r;

        if (scale < 1 || scale > 64)
                return -EINVAL;
        r = encode(text, &q);
        if (r < 0)
                return r;
        side = (uint32_t)(q->width + 2 * QR_QUIET_ZONE) * scale;
        px = xmalloc((size_t)side * side);
        for (uint32_t y = 0; y < side; y++)
                for (uint32_t x = 0; x < side; x++)
                        px[(size_t)y * side + x] =
                            dark(q, (int)(x / scale), (int)(y / scale)) ? 0x00 : 0xff;
        r = png_write(px, side, ret, ret_len);
        free(px);
        QRcode_free(q);
        return r;
}
