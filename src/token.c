/* token.c: signed capability tokens (see token.h).
 *
 * Payload layouts (fields separated by NUL, the last one not terminated):
 *   ack:      'a' "\0" alert_id "\0" worker "\0" expiry (decimal Unix seconds)
 *   resident: 'r' "\0" household "\0" generation (decimal)
 *   worker:   'w' "\0" worker "\0" generation "\0" expiry (decimal Unix seconds)
 *   form:     'f' "\0" worker "\0" issued (decimal Unix seconds) "\0" random (hex)
 * Decoding order matters: shape, then MAC (constant time), then the fields, then expiry;
 * nothing of an unauthenticated payload is ever interpreted. */
#include "token.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "util.h"

#define PAYLOAD_MAX 300

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_encode(const void *data, size_t len, char *buf, size_t size)
{
        const uint8_t *p = data;
        size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0), o = 0;

        if (need + 1 > size)
                return -ENOBUFS;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;
                size_t n = len - i < 3 ? len - i : 3;
                if (n > 1)
                        v |= (uint32_t)p[i + 1] << 8;
                if (n > 2)
                        v |= p[i + 2];
                buf[o++] = b64url[(v >> 18) & 63];
                buf[o++] = b64url[(v >> 12) & 63];
                if (n > 1)
                        buf[o++] = b64url[(v >> 6) & 63];
                if (n > 2)
                        buf[o++] = b64url[v & 63];
        }
        buf[o] = 0;
        return (int)o;
}

static int b64url_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

int base64url_decode(const char *s, size_t len, uint8_t *buf, size_t size)
{
        size_t o = 0;
        uint32_t acc = 0;
        int bits = 0;

        if (len % 4 == 1)
                return -EINVAL;
        if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > size)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                int v = b64url_value(s[i]);
                if (v < 0)
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        buf[o++] = (uint8_t)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        if (acc != 0) /* leftover bits must be zero: exactly one spelling per token */
                return -EINVAL;
        return (int)o;
}

int token_key_set(struct token_key *key, const void *secret, size_t len)
{
        if (len < TOKEN_KEY_MIN || len > sizeof(key->bytes))
                return -EINVAL;
        memcpy(key->bytes, secret, len);
        key->len = len;
        return 0;
}

/* HMAC() fetches both algorithms and sets the key on every call (~25,000 instructions);
 * an ack link is signed for every notification, so a key prepared once is kept and a MAC
 * costs the payload's blocks (hmac.h; the daemon is single-threaded). */
static void mac(const struct token_key *key, const uint8_t *payload, size_t len,
                uint8_t out[static TOKEN_MAC_BYTES])
{
        static struct hmac_sha256_key *keyed;
        static struct token_key keyed_for;
        uint8_t md[HMAC_SHA256_BYTES];

        if (!keyed || keyed_for.len != key->len ||
            CRYPTO_memcmp(keyed_for.bytes, key->bytes, key->len) != 0) {
                hmac_sha256_key_free(keyed);
                keyed = hmac_sha256_key_new(key->bytes, key->len);
                keyed_for = *key;
        }
        hmac_sha256_keyed(keyed, payload, len, md);
        memcpy(out, md, TOKEN_MAC_BYTES);
        OPENSSL_cleanse(md, sizeof(md));
}

static int sign(const struct token_key *key, const uint8_t *payload, size_t len, char *buf,
                size_t size)
{
        uint8_t m[TOKEN_MAC_BYTES];
        int n, k;

        n = base64url_encode(payload, len, buf, size);
        if (n < 0 || (size_t)n + 2 > size)
                return -ENOBUFS;
        buf[n] = '.';
        mac(key, payload, len, m);
        k = base64url_encode(m, sizeof(m), buf + n + 1, size - (size_t)n - 1);
        return k < 0 ? -ENOBUFS : 0;
}

/* Checks shape and MAC; on success the payload is in buf (NUL-terminated after len). */
static int verify(const struct token_key *key, const char *token, uint8_t *buf, size_t size,
                  size_t *ret_len)
{
        const char *dot;
        uint8_t got[TOKEN_MAC_BYTES + 3], want[TOKEN_MAC_BYTES];
        size_t tl;
        int n, m;

        if (!token)
                return TOKEN_E_MALFORMED;
        tl = strnlen(token, TOKEN_MAX);
        if (tl == 0 || tl >= TOKEN_MAX)
                return TOKEN_E_MALFORMED;
        dot = memchr(token, '.', tl);
        if (!dot || memchr(dot + 1, '.', tl - (size_t)(dot + 1 - token)))
                return TOKEN_E_MALFORMED;
        n = base64url_decode(token, (size_t)(dot - token), buf, size - 1);
        m = base64url_decode(dot + 1, tl - (size_t)(dot + 1 - token), got, sizeof(got));
        if (n <= 0 || m != TOKEN_MAC_BYTES)
                return TOKEN_E_MALFORMED;
        mac(key, buf, (size_t)n, want);
        if (CRYPTO_memcmp(got, want, TOKEN_MAC_BYTES) != 0)
                return TOKEN_E_SIGNATURE;
        buf[n] = 0;
        *ret_len = (size_t)n;
        return TOKEN_OK;
}

/* Splits a verified payload into at most max NUL-separated fields. */
static size_t split(uint8_t *payload, size_t len, const char **fields, size_t max)
{
        size_t n = 0, start = 0;

        for (size_t i = 0; i <= len && n < max; i++)
                if (i == len || payload[i] == 0) {
                        fields[n++] = (const char *)payload + start;
                        start = i + 1;
                }
        return n;
}

static bool copy_id(char *dst, const char *src)
{
        size_t l = strlen(src);
        if (l == 0 || l >= TOKEN_ID_MAX)
                return false;
        memcpy(dst, src, l + 1);
        return true;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return false;
        *ret = v;
        return true;
}

/* Lays out tag and fields; returns the payload length or -EINVAL. */
static int build(uint8_t *buf, char tag, const char *const *fields, size_t n)
{
        size_t o = 0;

        buf[o++] = (uint8_t)tag;
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(fields[i]);
                if (l == 0 || l >= TOKEN_ID_MAX || o + 1 + l > PAYLOAD_MAX)
                        return -EINVAL;
                buf[o++] = 0;
                memcpy(buf + o, fields[i], l);
                o += l;
        }
        return (int)o;
}

int token_ack_encode(const struct token_key *key, const struct token_ack *claim, char *buf,
                     size_t size)
{
        uint8_t payload[PAYLOAD_MAX];
        char exp[24];
        int n;

        if (claim->expires_usec <= 0)
                return -EINVAL;
        snprintf(exp, sizeof(exp), "%" PRId64, claim->expires_usec / 1000000);
        n = build(payload, 'a', (const char *const[]){ claim->alert_id, claim->worker, exp }, 3);
        return n < 0 ? n : sign(key, payload, (size_t)n, buf, size);
}

int token_ack_decode(const struct token_key *key, const char *token, int64_t now_usec,
                     struct token_ack *ret)
{
        uint8_t payload[PAYLOAD_MAX + 1];
        const char *f[5];
        size_t len;
        uint64_t exp;
        int r = verify(key, token, payload, sizeof(payload), &len);

        if (r != TOKEN_OK)
                return r;
        if (split(payload, len, f, ELEMENTSOF(f)) != 4 || strcmp(f[0], "a") != 0)
                return payload[0] == 'a' ? TOKEN_E_MALFORMED : TOKEN_E_KIND;
        memset(ret, 0, sizeof(*ret));
        if (!copy_id(ret->alert_id, f[1]) || !copy_id(ret->worker, f[2]) ||
            !parse_u64(f[3], &exp) || exp > INT64_MAX / 1000000)
                return TOKEN_E_MALFORMED;
        ret->expires_usec = (int64_t)exp * 1000000;
        return now_usec >= ret->expires_usec ? TOKEN_E_EXPIRED : TOKEN_OK;
}

int token_resident_encode(const struct token_key *key, const struct token_resident *claim,
                          char *buf, size_t size)
{
        uint8_t payload[PAYLOAD_MAX];
        char gen[24];
        int n;

        snprintf(gen, sizeof(gen), "%" PRIu64, claim->generation);
        n = build(payload, 'r', (const char *const[]){ claim->household, gen }, 2);
        return n < 0 ? n : sign(key, payload, (size_t)n, buf, size);
}

int token_resident_decode(const struct token_key *key, const char *token,
                          struct token_resident *ret)
{
        uint8_t payload[PAYLOAD_MAX + 1];
        const char *f[4];
        size_t len;
        int r = verify(key, token, payload, sizeof(payload), &len);

        if (r != TOKEN_OK)
                return r;
        if (split(payload, len, f, ELEMENTSOF(f)) != 3 || strcmp(f[0], "r") != 0)
                return payload[0] == 'r' ? TOKEN_E_MALFORMED : TOKEN_E_KIND;
        memset(ret, 0, sizeof(*ret));
        if (!copy_id(ret->household, f[1]) || !parse_u64(f[2], &ret->generation))
                return TOKEN_E_MALFORMED;
        return TOKEN_OK;
}

bool token_secret_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
        uint8_t da[HMAC_SHA256_BYTES], db[HMAC_SHA256_BYTES];

        sha256(a, a_len, da);
        sha256(b, b_len, db);
        return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

int token_worker_encode(const struct token_key *key, const struct token_worker *claim, char *buf,
                        size_t size)
{
        uint8_t payload[PAYLOAD_MAX];
        char gen[24], exp[24];
        int n;

        if (claim->expires_usec <= 0)
                return -EINVAL;
        snprintf(gen, sizeof(gen), "%" PRIu64, claim->generation);
        snprintf(exp, sizeof(exp), "%" PRId64, claim->expires_usec / 1000000);
        n = build(payload, 'w', (const char *const[]){ claim->worker, gen, exp }, 3);
        return n < 0 ? n : sign(key, payload, (size_t)n, buf, size);
}

int token_worker_decode(const struct token_key *key, const char *token, int64_t now_usec,
                        struct token_worker *ret)
{
        uint8_t payload[PAYLOAD_MAX + 1];
        const char *f[5];
        size_t len;
        uint64_t exp;
        int r = verify(key, token, payload, sizeof(payload), &len);

        if (r != TOKEN_OK)
                return r;
        if (split(payload, len, f, ELEMENTSOF(f)) != 4 || strcmp(f[0], "w") != 0)
                return payload[0] == 'w' ? TOKEN_E_MALFORMED : TOKEN_E_KIND;
        memset(ret, 0, sizeof(*ret));
        if (!copy_id(ret->worker, f[1]) || !parse_u64(f[2], &ret->generation) ||
            !parse_u64(f[3], &exp) || exp > INT64_MAX / 1000000)
                return TOKEN_E_MALFORMED;
        ret->expires_usec = (int64_t)exp * 1000000;
        return now_usec >= ret->expires_usec ? TOKEN_E_EXPIRED : TOKEN_OK;
}

int token_form_encode(const struct token_key *key, const struct token_form *claim, char *buf,
                      size_t size)
{
        uint8_t payload[PAYLOAD_MAX];
        char issued[24], random[2 * sizeof(claim->random) + 1];
        int n;

        if (claim->issued_usec <= 0)
                return -EINVAL;
        snprintf(issued, sizeof(issued), "%" PRId64, claim->issued_usec / 1000000);
        for (size_t i = 0; i < sizeof(claim->random); i++)
                snprintf(random + 2 * i, 3, "%02x", claim->random[i]);
        n = build(payload, 'f', (const char *const[]){ claim->worker, issued, random }, 3);
        return n < 0 ? n : sign(key, payload, (size_t)n, buf, size);
}

int token_form_decode(const struct token_key *key, const char *token, int64_t now_usec,
                      int64_t ttl_usec, struct token_form *ret)
{
        uint8_t payload[PAYLOAD_MAX + 1];
        const char *f[5];
        size_t len;
        uint64_t issued;
        int r = verify(key, token, payload, sizeof(payload), &len);

        if (r != TOKEN_OK)
                return r;
        if (split(payload, len, f, ELEMENTSOF(f)) != 4 || strcmp(f[0], "f") != 0)
                return payload[0] == 'f' ? TOKEN_E_MALFORMED : TOKEN_E_KIND;
        memset(ret, 0, sizeof(*ret));
        if (!copy_id(ret->worker, f[1]) || !parse_u64(f[2], &issued) ||
            issued > INT64_MAX / 1000000 || strlen(f[3]) != 2 * sizeof(ret->random))
                return TOKEN_E_MALFORMED;
        for (size_t i = 0; i < sizeof(ret->random); i++) {
                unsigned v;
                if (sscanf(f[3] + 2 * i, "%2x", &v) != 1)
                        return TOKEN_E_MALFORMED;
                ret->random[i] = (uint8_t)v;
        }
        ret->issued_usec = (int64_t)issued * 1000000;
        return now_usec >= ret->issued_usec + ttl_usec ? TOKEN_E_EXPIRED : TOKEN_OK;
}
