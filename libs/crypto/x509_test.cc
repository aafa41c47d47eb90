#include "libs/crypto/x509.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace k8i::crypto {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, X509Free> Parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return std::unique_ptr<X509, X509Free>(x);
}

TEST(X509Test, IssuesASignedLeafWithTheGivenValidity) {
  const absl::Time t0 = absl::FromUnixSeconds(1790000000);
  auto ca = IssueCertificate(
      {.common_name = "test CA", .ca = true, .not_before = t0, .not_after = t0 + absl::Hours(48)});
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto leaf = IssueCertificate({.common_name = "shop.example.com",
                                .subject_alt_names = "DNS:shop.example.com",
                                .not_before = t0,
                                .not_after = t0 + absl::Hours(240),
                                .serial = 7},
                               &*ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_NE(leaf->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto ca_x = Parse(ca->cert_pem);
  auto leaf_x = Parse(leaf->cert_pem);
  ASSERT_TRUE(ca_x && leaf_x);
  EXPECT_EQ(X509_verify(leaf_x.get(), X509_get0_pubkey(ca_x.get())), 1);
  EXPECT_EQ(X509_verify(ca_x.get(), X509_get0_pubkey(ca_x.get())), 1);  // self-signed
  EXPECT_NE(X509_verify(leaf_x.get(), X509_get0_pubkey(leaf_x.get())), 1);
  int days = 0, secs = 0;
  ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf_x.get()),
                 X509_get0_notAfter(leaf_x.get()));
  EXPECT_EQ(days, 10);
  EXPECT_EQ(secs, 0);
  EXPECT_EQ(ASN1_INTEGER_get(X509_get0_serialNumber(leaf_x.get())), 7);
}

TEST(X509Test, BadIssuerAndExtensionAreErrors) {
  const absl::Time t0 = absl::Now();
  KeyAndCert junk{"not a pem", "not a key"};
  EXPECT_FALSE(IssueCertificate({.common_name = "x", .not_before = t0, .not_after = t0}, &junk).ok());
  EXPECT_FALSE(IssueCertificate({.common_name = "x",
                                 .subject_alt_names = "NOPE:x",
                                 .not_before = t0,
                                 .not_after = t0})
                   .ok());
}

}  // namespace
}  // namespace k8i::crypto
