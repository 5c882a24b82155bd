/* www.c: embeds src/www/ files with the assembler's .incbin (paths are relative to the
 * repository root, where make runs; the Makefile makes www.o depend on src/www/). */
#include "www.h"

#define EMBED(name, path)                                                                          \
        __asm__(".section .rodata\n"                                                               \
                ".balign 8\n"                                                                      \
                ".global " #name "_len\n"                                                          \
                ".type " #name "_len, @object\n" #name "_len:\n"                                   \
                ".quad 2f - 1f\n"                                                                  \
                ".global " #name "\n"                                                              \
                ".type " #name ", @object\n" #name ":\n"                                           \
                "1:\n"                                                                             \
                ".incbin \"" path "\"\n"                                                           \
                "2:\n"                                                                             \
                ".byte 0\n"                                                                        \
                ".previous\n")

EMBED(www_status_html, "src/www/status.html");
EMBED(www_status_js, "src/www/status.js");
EMBED(www_style_css, "src/www/style.css");
