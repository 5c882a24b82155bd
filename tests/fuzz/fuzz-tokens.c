/* fuzz-tokens.c: a libFuzzer target for the signed link tokens (token.h): the one-tap ack
 * links workers get and the resident links printed as QR codes, i.e. whatever a stranger can
 * put in /ack/<token> or /r/<token>.
 *
 * An input is [mode u8] then data. Mode 0: data is a token string (up to TOKEN_MAX) decoded
 * as both kinds. Mode 1: data makes a claim (alert id, worker, expiry; household,
 * generation), which is encoded, decoded back, and then altered at one place that the next
 * input bytes choose (a character replaced, removed, or appended): the alteration must not
 * decode as genuine unless it left the token unchanged. A fixed 32-byte key.
 *
 * Checked besides the sanitizers: decoding returns TOKEN_OK or a TOKEN_E_*, never a
 * negative value; a genuine token's fields are NUL-terminated, non-empty and its re-encoding
 * is the same string (one encoding per claim); a token of one kind never reads as the
 * other; what was encoded decodes to the same claim. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

static struct token_key key;

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-tokens: contract violated: %s\n", what);
                abort();
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        static const char secret[] = "fuzz-key-0123456789abcdef-0123456789";
        if (token_key_set(&key, secret, sizeof(secret) - 1) < 0)
                abort();
        return 0;
}

static const int64_t now = INT64_C(1580961600) * 1000000;

/* Decodes s as both kinds and checks what comes back. */
static int decode_both(const char *s, struct token_ack *ack, struct token_resident *res,
                       int *ret_res)
{
        char again[TOKEN_MAX];
        int a = token_ack_decode(&key, s, now, ack);
        int r = token_resident_decode(&key, s, res);

        check(a >= TOKEN_OK && a <= TOKEN_E_KIND, "ack outcome");
        check(r >= TOKEN_OK && r <= TOKEN_E_KIND, "resident outcome");
        check(!(a == TOKEN_OK && r == TOKEN_OK), "a token of both kinds");
        if (a == TOKEN_OK || a == TOKEN_E_EXPIRED) {
                check(memchr(ack->alert_id, 0, sizeof(ack->alert_id)) && ack->alert_id[0],
                      "ack alert id");
                check(memchr(ack->worker, 0, sizeof(ack->worker)) && ack->worker[0], "ack worker");
        }
        if (a == TOKEN_OK) {
                check(token_ack_encode(&key, ack, again, sizeof(again)) == 0 &&
                          strcmp(again, s) == 0,
                      "an ack token re-encodes to itself");
        }
        if (r == TOKEN_OK) {
                check(memchr(res->household, 0, sizeof(res->household)) && res->household[0],
                      "resident household");
                check(token_resident_encode(&key, res, again, sizeof(again)) == 0 &&
                          strcmp(again, s) == 0,
                      "a resident token re-encodes to itself");
        }
        *ret_res = r;
        return a;
}

/* Copies up to n bytes of p into buf as a C string (stopping at a NUL). */
static size_t take(const uint8_t **p, size_t *left, char *buf, size_t size, size_t n)
{
        size_t k = 0;

        while (k < n && k + 1 < size && *left > 0 && **p) {
                buf[k++] = (char)**p;
                (*p)++;
                (*left)--;
        }
        if (*left > 0 && **p == 0) {
                (*p)++;
                (*left)--;
        }
        buf[k] = 0;
        return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct token_ack ack, ack2;
        struct token_resident res, res2;
        char tok[TOKEN_MAX + 8], alt[TOKEN_MAX + 8];
        const uint8_t *p;
        size_t left;
        int a, r;

        if (size < 1)
                return 0;
        p = data + 1;
        left = size - 1;
        if (data[0] % 2 == 0) {
                size_t n = left < TOKEN_MAX - 1 ? left : TOKEN_MAX - 1;
                memcpy(tok, p, n);
                tok[n] = 0;
                decode_both(tok, &ack, &res, &r);
                return 0;
        }

        /* A claim of either kind, encoded, decoded, altered. */
        memset(&ack, 0, sizeof(ack));
        memset(&res, 0, sizeof(res));
        take(&p, &left, ack.alert_id, sizeof(ack.alert_id), 64);
        take(&p, &left, ack.worker, sizeof(ack.worker), 64);
        ack.expires_usec = now + (left > 0 ? (int64_t)(*p % 200) - 100 : 1) * 1000000;
        if (left > 0) {
                p++;
                left--;
        }
        take(&p, &left, res.household, sizeof(res.household), 64);
        for (int i = 0; i < 8 && left > 0; i++, p++, left--)
                res.generation = res.generation << 8 | *p;

        if (token_ack_encode(&key, &ack, tok, sizeof(tok)) == 0) {
                a = decode_both(tok, &ack2, &res2, &r);
                check(a == TOKEN_OK || a == TOKEN_E_EXPIRED, "an encoded ack token decodes");
                check(strcmp(ack2.alert_id, ack.alert_id) == 0 &&
                          strcmp(ack2.worker, ack.worker) == 0,
                      "ack round trip");
                check(r == TOKEN_E_KIND, "an ack token is not a resident one");
        }
        if (token_resident_encode(&key, &res, tok, sizeof(tok)) == 0) {
                a = decode_both(tok, &ack2, &res2, &r);
                check(r == TOKEN_OK && strcmp(res2.household, res.household) == 0 &&
                          res2.generation == res.generation,
                      "resident round trip");
                check(a == TOKEN_E_KIND, "a resident token is not an ack one");
                /* One alteration at a place the rest of the input picks. */
                if (left >= 2) {
                        size_t n = strlen(tok), at = p[0] % (n + 1);
                        memcpy(alt, tok, n + 1);
                        switch (p[1] % 3) {
                        case 0:
                                if (at < n)
                                        alt[at] = (char)(left > 2 ? p[2] : 'A');
                                break;
                        case 1:
                                if (at < n)
                                        memmove(alt + at, alt + at + 1, n - at);
                                break;
                        default:
                                alt[n] = (char)(left > 2 ? p[2] : 'A');
                                alt[n + 1] = 0;
                                break;
                        }
                        a = decode_both(alt, &ack2, &res2, &r);
                        check(r != TOKEN_OK || strcmp(alt, tok) == 0,
                              "an altered resident token is genuine");
                }
        }
        return 0;
}
