/* hmac.c: SHA-256 and HMAC-SHA256 on OpenSSL's SHA-256 block functions.
 *
 * Why not HMAC(), SHA256() or EVP: in OpenSSL 3 they fetch their algorithms from the default
 * provider, and the first fetch activates it, which builds the provider's algorithm tables
 * and leaves about 2 MB of libcrypto resident for the rest of the process (measured with
 * /proc/self/status on Debian 12, OpenSSL 3.0). The daemon signs an ack link for every
 * notification but needs nothing else of libcrypto unless a channel talks HTTPS, so it
 * uses the SHA-256 functions directly (the same implementation and assembly the provider
 * calls), which OpenSSL 3.0 marks deprecated but keeps; OPENSSL_API_COMPAT says we know.
 *
 * A keyed state (struct hmac_sha256_key) is the SHA-256 state after each padded key block:
 * a MAC with it is a copy of two structs and the message's blocks, no allocation. */
#define OPENSSL_API_COMPAT 10101
#include "hmac.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BLOCK 64 /* SHA-256 block size */

struct hmac_sha256_key {
        SHA256_CTX inner, outer;
};

void sha256(const void *data, size_t len, uint8_t out[static HMAC_SHA256_BYTES])
{
        SHA256_CTX ctx;

        SHA256_Init(&ctx);
        SHA256_Update(&ctx, data, len);
        SHA256_Final(out, &ctx);
        OPENSSL_cleanse(&ctx, sizeof(ctx));
}

static void key_init(struct hmac_sha256_key *hk, const void *key, size_t key_len)
{
        uint8_t k[BLOCK] = { 0 }, pad[BLOCK];

        if (key_len > BLOCK)
                sha256(key, key_len, k);
        else if (key_len > 0)
                memcpy(k, key, key_len);
        for (size_t i = 0; i < BLOCK; i++)
                pad[i] = k[i] ^ 0x36;
        SHA256_Init(&hk->inner);
        SHA256_Update(&hk->inner, pad, BLOCK);
        for (size_t i = 0; i < BLOCK; i++)
                pad[i] = k[i] ^ 0x5c;
        SHA256_Init(&hk->outer);
        SHA256_Update(&hk->outer, pad, BLOCK);
        OPENSSL_cleanse(k, sizeof(k));
        OPENSSL_cleanse(pad, sizeof(pad));
}

static void keyed_mac(const struct hmac_sha256_key *hk, const void *msg, size_t msg_len,
                      uint8_t out[static HMAC_SHA256_BYTES])
{
        uint8_t inner[SHA256_DIGEST_LENGTH];
        SHA256_CTX ctx = hk->inner;

        SHA256_Update(&ctx, msg, msg_len);
        SHA256_Final(inner, &ctx);
        ctx = hk->outer;
        SHA256_Update(&ctx, inner, sizeof(inner));
        SHA256_Final(out, &ctx);
        OPENSSL_cleanse(inner, sizeof(inner));
        OPENSSL_cleanse(&ctx, sizeof(ctx));
}

void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 uint8_t out[static HMAC_SHA256_BYTES])
{
        struct hmac_sha256_key hk;

        key_init(&hk, key, key_len);
        keyed_mac(&hk, msg, msg_len, out);
        OPENSSL_cleanse(&hk, sizeof(hk));
}

struct hmac_sha256_key *hmac_sha256_key_new(const void *key, size_t key_len)
{
        struct hmac_sha256_key *hk = xmalloc(sizeof(*hk));

        key_init(hk, key, key_len);
        return hk;
}

struct hmac_sha256_key *hmac_sha256_key_free(struct hmac_sha256_key *hk)
{
        if (hk) {
                OPENSSL_cleanse(hk, sizeof(*hk));
                free(hk);
        }
        return NULL;
}

void hmac_sha256_keyed(const struct hmac_sha256_key *hk, const void *msg, size_t msg_len,
                       uint8_t out[static HMAC_SHA256_BYTES])
{
        keyed_mac(hk, msg, msg_len, out);
}
