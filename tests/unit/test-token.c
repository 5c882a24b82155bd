/* test-token.c: signed link tokens (base64url, ack and resident claims, tampering, expiry,
 * kind confusion) and QR codes (the PNG read back with libpng, every pixel checked against
 * the modules libqrencode gives). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hmac.h"
#include "qr.h"
#include "token.h"

static const char secret[] = "0123456789abcdef-test-secret";

static struct token_key key(const char *s)
{
        struct token_key k;
        assert_int_equal(token_key_set(&k, s, strlen(s)), 0);
        return k;
}

/* ---- HMAC-SHA256 (RFC 4231 test cases 1, 2, 4, 6 and an empty message) ---- */

static void hex_of(const uint8_t *p, size_t n, char *out)
{
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_hmac_sha256_vectors(void **state)
{
        uint8_t key[131], data[50], mac[HMAC_SHA256_BYTES];
        char hex[2 * HMAC_SHA256_BYTES + 1];
        static const char long_msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";

        memset(key, 0x0b, 20);
        hmac_sha256(key, 20, "Hi There", 8, mac);
        hex_of(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

        hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
        hex_of(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

        for (size_t i = 0; i < 25; i++)
                key[i] = (uint8_t)(i + 1);
        memset(data, 0xcd, sizeof(data));
        hmac_sha256(key, 25, data, sizeof(data), mac);
        hex_of(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");

        /* A key longer than the block is hashed first. */
        memset(key, 0xaa, sizeof(key));
        hmac_sha256(key, sizeof(key), long_msg, strlen(long_msg), mac);
        hex_of(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

        hmac_sha256("key", 3, NULL, 0, mac);
        hex_of(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");

        /* A prepared key gives the same MACs, again and again. */
        for (int round = 0; round < 2; round++) {
                struct hmac_sha256_key *hk =
                    round ? hmac_sha256_key_new(key, sizeof(key)) : hmac_sha256_key_new("Jefe", 4);
                assert_non_null(hk);
                for (int i = 0; i < 2; i++) {
                        if (round)
                                hmac_sha256_keyed(hk, long_msg, strlen(long_msg), mac);
                        else
                                hmac_sha256_keyed(hk, "what do ya want for nothing?", 28, mac);
                        hex_of(mac, sizeof(mac), hex);
                        assert_string_equal(hex, round ? "60e431591ee0b67f0d8a26aacbf5b77f8e0bc621"
                                                         "3728c5140546040f0ee37f54"
                                                       : "5bdcc146bf60754e6a042426089575c75a003f08"
                                                         "9d2739839dec58b964ec3843");
                }
                assert_null(hmac_sha256_key_free(hk));
        }
}

/* ---- base64url ---- */

static void test_base64url_vectors(void **state)
{
        static const struct {
                const char *raw, *enc;
        } v[] = {
                /* RFC 4648 §10, without padding */
                { "", "" },
                { "f", "Zg" },
                { "fo", "Zm8" },
                { "foo", "Zm9v" },
                { "foob", "Zm9vYg" },
                { "fooba", "Zm9vYmE" },
                { "foobar", "Zm9vYmFy" },
                { "\xfb\xff", "-_8" }, /* the two url-safe characters */
        };
        char buf[64];
        uint8_t out[64];

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                int n = base64url_encode(v[i].raw, strlen(v[i].raw), buf, sizeof(buf));
                assert_int_equal(n, (int)strlen(v[i].enc));
                assert_string_equal(buf, v[i].enc);
                n = base64url_decode(v[i].enc, strlen(v[i].enc), out, sizeof(out));
                assert_int_equal(n, (int)strlen(v[i].raw));
                assert_memory_equal(out, v[i].raw, (size_t)n);
        }
        assert_int_equal(base64url_decode("Zm9v+", 5, out, sizeof(out)), -EINVAL);
        assert_int_equal(base64url_decode("Z", 1, out, sizeof(out)), -EINVAL);
        assert_int_equal(base64url_decode("Zh", 2, out, sizeof(out)), -EINVAL); /* bits left */
        assert_int_equal(base64url_decode("Zm9v", 4, out, 2), -EINVAL);
        assert_int_equal(base64url_encode("foobar", 6, buf, 8), -ENOBUFS);
}

/* ---- ack tokens ---- */

static const int64_t NOW = INT64_C(1580860800) * 1000000;

static void test_ack_roundtrip(void **state)
{
        struct token_key k = key(secret);
        struct token_ack c = { .alert_id = "a-20200206-0007",
                               .worker = "w-chl-12",
                               .expires_usec = NOW + 3600 * INT64_C(1000000) };
        struct token_ack got;
        char tok[TOKEN_MAX];

        assert_int_equal(token_ack_encode(&k, &c, tok, sizeof(tok)), 0);
        assert_null(strpbrk(tok, "+/=?&# %"));
        assert_true(strlen(tok) < 100); /* short enough for an SMS */
        assert_int_equal(token_ack_decode(&k, tok, NOW, &got), TOKEN_OK);
        assert_string_equal(got.alert_id, c.alert_id);
        assert_string_equal(got.worker, c.worker);
        assert_true(got.expires_usec == c.expires_usec);
        /* Expired: one second after, and exactly at the expiry. */
        assert_int_equal(token_ack_decode(&k, tok, c.expires_usec, &got), TOKEN_E_EXPIRED);
        assert_string_equal(got.alert_id, c.alert_id);
        /* Another key: a forgery. */
        struct token_key other = key("another-secret-of-16+bytes");
        assert_int_equal(token_ack_decode(&other, tok, NOW, &got), TOKEN_E_SIGNATURE);
        /* The buffer too small. */
        assert_int_equal(token_ack_encode(&k, &c, tok, 20), -ENOBUFS);
}

/* The MAC is HMAC-SHA256 truncated to 128 bits, as OpenSSL's one-shot HMAC() computes it
 * (the signer keeps a keyed context between calls). */
static void test_ack_mac_known_answer(void **state)
{
        static const char payload[] = "a\0a-20200206-0007\0w-chl-12\0"
                                      "1580864400";
        struct token_key k = key(secret), other = key("another-secret-of-16+bytes");
        struct token_ack c = { .alert_id = "a-20200206-0007",
                               .worker = "w-chl-12",
                               .expires_usec = NOW + 3600 * INT64_C(1000000) };
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char tok[TOKEN_MAX], want[64];

        for (int round = 0; round < 2; round++) {
                const struct token_key *kk = round ? &other : &k;
                assert_non_null(HMAC(EVP_sha256(), kk->bytes, (int)kk->len,
                                     (const uint8_t *)payload, sizeof(payload) - 1, md, &md_len));
                assert_true(base64url_encode(md, TOKEN_MAC_BYTES, want, sizeof(want)) > 0);
                assert_int_equal(token_ack_encode(kk, &c, tok, sizeof(tok)), 0);
                assert_non_null(strchr(tok, '.'));
                assert_string_equal(strchr(tok, '.') + 1, want);
        }
}

static void test_ack_tampering_is_refused(void **state)
{
        struct token_key k = key(secret);
        struct token_ack c = { .alert_id = "a-20200206-0007",
                               .worker = "w-chl-12",
                               .expires_usec = NOW + 3600 * INT64_C(1000000) };
        struct token_ack got;
        char tok[TOKEN_MAX], bad[TOKEN_MAX];
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

        assert_int_equal(token_ack_encode(&k, &c, tok, sizeof(tok)), 0);
        /* Every single-character change anywhere is refused. */
        for (size_t i = 0; tok[i]; i++)
                for (const char *a = alphabet; *a; a++) {
                        if (*a == tok[i])
                                continue;
                        strcpy(bad, tok);
                        bad[i] = *a;
                        assert_int_not_equal(token_ack_decode(&k, bad, NOW, &got), TOKEN_OK);
                }
        /* Truncation, extension, garbage. */
        strcpy(bad, tok);
        bad[strlen(bad) - 1] = 0;
        assert_int_not_equal(token_ack_decode(&k, bad, NOW, &got), TOKEN_OK);
        strcpy(bad, tok);
        strcat(bad, "A");
        assert_int_not_equal(token_ack_decode(&k, bad, NOW, &got), TOKEN_OK);
        assert_int_equal(token_ack_decode(&k, "", NOW, &got), TOKEN_E_MALFORMED);
        assert_int_equal(token_ack_decode(&k, "abc", NOW, &got), TOKEN_E_MALFORMED);
        assert_int_equal(token_ack_decode(&k, "a.b.c", NOW, &got), TOKEN_E_MALFORMED);
        assert_int_equal(token_ack_decode(&k, "../../etc/passwd", NOW, &got), TOKEN_E_MALFORMED);
        assert_int_equal(token_ack_decode(&k, NULL, NOW, &got), TOKEN_E_MALFORMED);
        /* A genuine MAC of a longer-lived token does not cover this payload. */
        struct token_ack c2 = c;
        char tok2[TOKEN_MAX];
        c2.expires_usec += 86400 * INT64_C(1000000);
        assert_int_equal(token_ack_encode(&k, &c2, tok2, sizeof(tok2)), 0);
        strcpy(bad, tok);
        strcpy(strchr(bad, '.'), strchr(tok2, '.'));
        assert_int_equal(token_ack_decode(&k, bad, NOW, &got), TOKEN_E_SIGNATURE);
}

static void test_ack_invalid_claims(void **state)
{
        struct token_key k = key(secret);
        char tok[TOKEN_MAX], longid[200];
        struct token_ack c = { .alert_id = "", .worker = "w", .expires_usec = NOW };

        assert_int_equal(token_ack_encode(&k, &c, tok, sizeof(tok)), -EINVAL);
        c = (struct token_ack){ .alert_id = "a", .worker = "w", .expires_usec = 0 };
        assert_int_equal(token_ack_encode(&k, &c, tok, sizeof(tok)), -EINVAL);
        memset(longid, 'x', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = 0;
        struct token_key kk;
        assert_int_equal(token_key_set(&kk, "short", 5), -EINVAL);
        assert_int_equal(token_key_set(&kk, longid, 15), -EINVAL);
        assert_int_equal(token_key_set(&kk, longid, 16), 0);
}

/* ---- resident tokens ---- */

static void test_resident_roundtrip_and_kinds(void **state)
{
        struct token_key k = key(secret);
        struct token_resident r = { .household = "CHL-0001", .generation = 3 }, got;
        struct token_ack ack = { .alert_id = "a-1", .worker = "w-1", .expires_usec = NOW * 2 },
                         got_ack;
        char tok[TOKEN_MAX], tok_ack[TOKEN_MAX];

        assert_int_equal(token_resident_encode(&k, &r, tok, sizeof(tok)), 0);
        assert_int_equal(token_resident_decode(&k, tok, &got), TOKEN_OK);
        assert_string_equal(got.household, "CHL-0001");
        assert_true(got.generation == 3);
        /* A resident link is no ack link and vice versa, although both are genuine. */
        assert_int_equal(token_ack_encode(&k, &ack, tok_ack, sizeof(tok_ack)), 0);
        assert_int_equal(token_ack_decode(&k, tok, NOW, &got_ack), TOKEN_E_KIND);
        assert_int_equal(token_resident_decode(&k, tok_ack, &got), TOKEN_E_KIND);
        /* Generations make distinct tokens. */
        char tok4[TOKEN_MAX];
        r.generation = 4;
        assert_int_equal(token_resident_encode(&k, &r, tok4, sizeof(tok4)), 0);
        assert_string_not_equal(tok, tok4);
        tok4[3] ^= 1;
        assert_int_not_equal(token_resident_decode(&k, tok4, &got), TOKEN_OK);
}

/* A worker's page link and its one-time forms: round trips, expiry, kinds kept apart. */
static void test_worker_and_form(void **state)
{
        struct token_key k = key(secret);
        struct token_worker w = { .worker = "w-yjl-07",
                                  .generation = 2,
                                  .expires_usec = NOW + 3600 * INT64_C(1000000) },
                            gw;
        struct token_form f = { .worker = "w-yjl-07",
                                .issued_usec = NOW,
                                .random = { 1, 2, 3, 250, 5, 6, 7, 8, 9, 10, 11, 12 } },
                          gf;
        struct token_resident gr;
        char tw[TOKEN_MAX], tf[TOKEN_MAX];

        assert_int_equal(token_worker_encode(&k, &w, tw, sizeof(tw)), 0);
        assert_int_equal(token_worker_decode(&k, tw, NOW, &gw), TOKEN_OK);
        assert_string_equal(gw.worker, "w-yjl-07");
        assert_true(gw.generation == 2);
        assert_true(gw.expires_usec == w.expires_usec);
        /* Expired: said so, and whose it was. */
        assert_int_equal(token_worker_decode(&k, tw, w.expires_usec, &gw), TOKEN_E_EXPIRED);
        assert_string_equal(gw.worker, "w-yjl-07");

        assert_int_equal(token_form_encode(&k, &f, tf, sizeof(tf)), 0);
        assert_int_equal(
            token_form_decode(&k, tf, NOW + 60 * INT64_C(1000000), 3600 * INT64_C(1000000), &gf),
            TOKEN_OK);
        assert_string_equal(gf.worker, "w-yjl-07");
        assert_memory_equal(gf.random, f.random, sizeof(f.random));
        assert_int_equal(
            token_form_decode(&k, tf, NOW + 3600 * INT64_C(1000000), 3600 * INT64_C(1000000), &gf),
            TOKEN_E_EXPIRED);
        /* A form nonce is no page link, a page link no resident link, and back. */
        assert_int_equal(token_worker_decode(&k, tf, NOW, &gw), TOKEN_E_KIND);
        assert_int_equal(token_form_decode(&k, tw, NOW, 3600, &gf), TOKEN_E_KIND);
        assert_int_equal(token_resident_decode(&k, tw, &gr), TOKEN_E_KIND);
        /* Forged (another key) and tampered links are refused. */
        struct token_key other = key("another-secret-0123456789");
        assert_int_equal(token_worker_decode(&other, tw, NOW, &gw), TOKEN_E_SIGNATURE);
        tw[5] ^= 1;
        assert_int_not_equal(token_worker_decode(&k, tw, NOW, &gw), TOKEN_OK);
}

static void test_secret_equal(void **state)
{
        assert_true(token_secret_equal("abc", 3, "abc", 3));
        assert_false(token_secret_equal("abc", 3, "abd", 3));
        assert_false(token_secret_equal("abc", 3, "abcd", 4));
        assert_false(token_secret_equal("", 0, "a", 1));
}

/* ---- QR as PNG ---- */

/* Decodes a PNG with libpng's reader into 8-bit gray pixels (malloc'd). */
static uint8_t *read_png(const uint8_t *png, size_t len, uint32_t *w, uint32_t *h)
{
        png_image image = { .version = PNG_IMAGE_VERSION };
        uint8_t *px;

        assert_true(png_image_begin_read_from_memory(&image, png, len));
        image.format = PNG_FORMAT_GRAY;
        px = malloc(PNG_IMAGE_SIZE(image));
        assert_non_null(px);
        assert_true(png_image_finish_read(&image, NULL, px, 0, NULL));
        *w = image.width;
        *h = image.height;
        return px;
}

static void test_qr_png_and_terminal(void **state)
{
        const char *url = "https://doorwatch.example.org/r/cgBDSEwtMDAwMQAw.AAAAAAAAAAAAAAAAAAAAAA";
        uint8_t *png, *px;
        size_t len;
        uint32_t w = 0, h = 0;
        char *text = NULL;
        size_t text_len = 0;
        FILE *f;

        assert_int_equal(qr_png(url, 4, &png, &len), 0);
        px = read_png(png, len, &w, &h);
        /* Every pixel is its module, as libqrencode itself encodes the text: white quiet zone,
         * black where the module is dark, 4 pixels a module. */
        QRcode *q = QRcode_encodeString8bit(url, 0, QR_ECLEVEL_M);
        assert_non_null(q);
        int side = q->width + 2 * QR_QUIET_ZONE;
        assert_int_equal(w, (uint32_t)side * 4);
        assert_int_equal(h, w);
        for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++) {
                        int mx = (int)x / 4 - QR_QUIET_ZONE, my = (int)y / 4 - QR_QUIET_ZONE;
                        bool dark = mx >= 0 && my >= 0 && mx < q->width && my < q->width &&
                                    (q->data[my * q->width + mx] & 1);
                        assert_int_equal(px[(size_t)y * w + x], dark ? 0 : 255);
                }
        QRcode_free(q);
        free(px);
        free(png);
        assert_int_equal(qr_png(url, 0, &png, &len), -EINVAL);
        assert_int_equal(qr_png(url, 65, &png, &len), -EINVAL);

        f = open_memstream(&text, &text_len);
        assert_int_equal(qr_print_utf8(f, url), 0);
        fclose(f);
        assert_non_null(strstr(text, "\u2588"));
        assert_true(strchr(text, '\n') != NULL);
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hmac_sha256_vectors),
                cmocka_unit_test(test_base64url_vectors),
                cmocka_unit_test(test_ack_roundtrip),
                cmocka_unit_test(test_ack_mac_known_answer),
                cmocka_unit_test(test_ack_tampering_is_refused),
                cmocka_unit_test(test_ack_invalid_claims),
                cmocka_unit_test(test_resident_roundtrip_and_kinds),
                cmocka_unit_test(test_worker_and_form),
                cmocka_unit_test(test_secret_equal),
                cmocka_unit_test(test_qr_png_and_terminal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
