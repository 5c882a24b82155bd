/* hmac.h: SHA-256 and HMAC-SHA256 (RFC 2104) for ack and resident link tokens, the API
 * token comparison and the webhook, DingTalk and Feishu signatures. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HMAC_SHA256_BYTES 32

void sha256(const void *data, size_t len, uint8_t out[static HMAC_SHA256_BYTES]);

void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 uint8_t out[static HMAC_SHA256_BYTES]);

/* A key prepared once for many MACs (e.g. every ack link of the daemon's key): the MAC
 * then costs the message's blocks only. free wipes and frees it (NULL-safe) and returns
 * NULL. */
struct hmac_sha256_key;
struct hmac_sha256_key *hmac_sha256_key_new(const void *key, size_t key_len);
struct hmac_sha256_key *hmac_sha256_key_free(struct hmac_sha256_key *hk);
void hmac_sha256_keyed(const struct hmac_sha256_key *hk, const void *msg, size_t msg_len,
                       uint8_t out[static HMAC_SHA256_BYTES]);
