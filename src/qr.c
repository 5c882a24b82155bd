/* qr.c: see qr.h. Error correction level M (15%): stickers get scratched. */
#include "qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdbool.h>
#include <stdlib.h>

#include "png.h"

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
        px = malloc((size_t)side * side);
        if (!px) {
                QRcode_free(q);
                return -ENOMEM;
        }
        for (uint32_t y = 0; y < side; y++)
                for (uint32_t x = 0; x < side; x++)
                        px[(size_t)y * side + x] = !dark(q, (int)(x / scale), (int)(y / scale));
        r = png_encode_gray1(px, side, side, ret, ret_len);
        free(px);
        QRcode_free(q);
        return r;
}
