/* token.h: signed, URL-safe capability tokens (one-tap ack links, resident report links, a
 * worker's own page and its one-time forms).
 *
 * A token is base64url(payload) "." base64url(MAC), where MAC is HMAC-SHA256(key, payload)
 * truncated to 128 bits. The payload starts with a type tag byte followed by NUL-separated
 * text fields, so a token of one kind can never be read as another and no field can
 * smuggle a separator (identifiers are C strings). Verification checks the MAC in constant
 * time before looking at any field. Pure: no I/O, time is passed in. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Positive outcomes of decoding. */
enum {
        TOKEN_OK = 0,
        TOKEN_E_MALFORMED = 1, /* not a token of ours at all (bad base64, wrong shape) */
        TOKEN_E_SIGNATURE = 2, /* well formed, but the MAC does not match: tampered or forged */
        TOKEN_E_EXPIRED = 3,   /* genuine, past its expiry */
        TOKEN_E_KIND = 4,      /* genuine, but a token of another kind */
};

#define TOKEN_KEY_MIN   16  /* bytes; shorter secrets are refused */
#define TOKEN_MAC_BYTES 16  /* truncated HMAC-SHA256 */
#define TOKEN_MAX       512 /* longest token string we produce or accept, with the NUL */
#define TOKEN_ID_MAX    128 /* longest identifier field */

struct token_key {
        uint8_t bytes[256];
        size_t len;
};

/* Copies a secret (as read from the key file) into *key; -EINVAL when shorter than
 * TOKEN_KEY_MIN or longer than the buffer. */
int token_key_set(struct token_key *key, const void *secret, size_t len);

/* Who may acknowledge which alert, until when. */
struct token_ack {
        char alert_id[TOKEN_ID_MAX];
        char worker[TOKEN_ID_MAX];
        int64_t expires_usec; /* second resolution */
};

/* A household's resident pre-report link; revoked by bumping the household's generation. */
struct token_resident {
        char household[TOKEN_ID_MAX];
        uint64_t generation;
};

/* A worker's own page; revoked by bumping the worker's generation, bounded by expiry. */
struct token_worker {
        char worker[TOKEN_ID_MAX];
        uint64_t generation;
        int64_t expires_usec; /* second resolution */
};

/* A one-time form of a worker's page: signed at GET (which stores nothing), recorded at
 * its first POST with the answer (a replay gets the same answer). */
struct token_form {
        char worker[TOKEN_ID_MAX];
        int64_t issued_usec; /* second resolution */
        uint8_t random[12];
};

/* Encoders return 0, or -EINVAL (field too long, empty) / -ENOBUFS (buf too small). */
int token_ack_encode(const struct token_key *key, const struct token_ack *claim, char *buf,
                     size_t size);
/* Returns TOKEN_OK (claim filled), a TOKEN_E_* outcome, never a negative value. The claim
 * is filled for TOKEN_E_EXPIRED too, so the page can say which alert it was. */
int token_ack_decode(const struct token_key *key, const char *token, int64_t now_usec,
                     struct token_ack *ret);

int token_resident_encode(const struct token_key *key, const struct token_resident *claim,
                          char *buf, size_t size);
int token_resident_decode(const struct token_key *key, const char *token,
                          struct token_resident *ret);

int token_worker_encode(const struct token_key *key, const struct token_worker *claim, char *buf,
                        size_t size);
/* Like token_ack_decode(): the claim is filled for TOKEN_E_EXPIRED too. */
int token_worker_decode(const struct token_key *key, const char *token, int64_t now_usec,
                        struct token_worker *ret);
int token_form_encode(const struct token_key *key, const struct token_form *claim, char *buf,
                      size_t size);
/* TOKEN_E_EXPIRED once ttl_usec has passed since it was issued. */
int token_form_decode(const struct token_key *key, const char *token, int64_t now_usec,
                      int64_t ttl_usec, struct token_form *ret);

/* RFC 4648 §5 base64url without padding. encode returns the length written (NUL added), or
 * -ENOBUFS; decode returns the number of bytes, or -EINVAL on a character outside the
 * alphabet, a bad length, or non-zero trailing bits (one encoding per byte string). */
int base64url_encode(const void *data, size_t len, char *buf, size_t size);
int base64url_decode(const char *s, size_t len, uint8_t *buf, size_t size);

/* Constant-time comparison of two secrets of possibly different lengths (compares their
 * SHA-256 digests, so neither the content nor the length leaks through timing). */
bool token_secret_equal(const char *a, size_t a_len, const char *b, size_t b_len);
