/* qr.h: QR codes for resident links (libqrencode), as UTF-8 block art for a terminal and
 * as a PNG file to print and stick inside the door. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#define QR_QUIET_ZONE 4 /* modules of white border, as the standard asks */

/* Prints text as a QR code with upper/lower half blocks, two module rows per line. Light
 * modules are drawn as blocks (terminals are usually light-on-dark). 0 or -errno. */
int qr_print_utf8(FILE *f, const char *text);
/* Renders text as a black-on-white PNG with `scale` pixels per module. 0 or -errno. */
int qr_png(const char *text, unsigned scale, uint8_t **ret, size_t *ret_len);
