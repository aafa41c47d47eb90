// Envelope encryption of small records (secrets such as webhook tokens and cloud credentials):
// each record gets a fresh random 256-bit data key (DEK); the data is sealed with AES-256-GCM
// under the DEK, and the DEK is itself sealed (wrapped) with AES-256-GCM under the keyring's
// active key-encryption key (KEK). Rewrap moves an envelope to a new KEK without touching the
// data ciphertext. Wire format and threat model: libs/crypto/README.md.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/crypto/keyring.h"

namespace k8i::crypto {

// Seal encrypts `plaintext` into a versioned binary envelope under the active KEK of
// `keyring`. `associated_data` is authenticated but not stored: it binds the envelope to its
// record (e.g. "tenant/cluster/secret-name") so Open fails if the envelope is moved to another
// row. Internal only fails if OpenSSL does. Thread-safe.
absl::StatusOr<std::string> Seal(const Keyring& keyring, absl::string_view plaintext,
                                 absl::string_view associated_data);

// Open authenticates and decrypts `envelope`. Errors:
//  - DataLoss: not an envelope, truncated, unsupported version, or authentication failed
//    (a byte was changed, or `associated_data` differs from the one given to Seal — GCM
//    cannot tell the two apart);
//  - FailedPrecondition: sealed under a KEK id that `keyring` does not hold (add the old key
//    back, or restore the keyring); the message names the id.
absl::StatusOr<std::string> Open(const Keyring& keyring, absl::string_view envelope,
                                 absl::string_view associated_data);

// Rewrap returns `envelope` with its DEK re-wrapped under the active KEK, data nonce and
// ciphertext unchanged (an envelope already under the active KEK is re-wrapped anyway, with a
// fresh nonce). It needs no associated data: it authenticates the wrapped DEK only, so a
// tampered data part is detected by the next Open, not here. Errors as Open.
absl::StatusOr<std::string> Rewrap(const Keyring& keyring, absl::string_view envelope);

// EnvelopeKeyId returns the KEK id an envelope was sealed under (DataLoss if malformed), e.g.
// to find rows still under a retired key.
absl::StatusOr<std::string> EnvelopeKeyId(absl::string_view envelope);

}  // namespace k8i::crypto
