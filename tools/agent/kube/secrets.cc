#include "tools/agent/kube/secrets.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <ctime>
#include <initializer_list>
#include <map>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"
#include "tools/agent/kube/convert.h"

namespace k8i::agent::kube {
namespace {

constexpr size_t kMaxHelmRelease = 32 << 20;  // decompressed; guards against gzip bombs

bool SetAsn1Time(const ASN1_TIME* t, google::protobuf::Timestamp* ts) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  ts->set_seconds(static_cast<int64_t>(timegm(&tm)));
  return true;
}

std::string NameToString(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

absl::StatusOr<std::string> Gunzip(const std::string& in) {
  z_stream zs = {};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("inflateInit2");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[64 << 10];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > kMaxHelmRelease) rc = Z_MEM_ERROR;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InvalidArgumentError("release payload is not valid gzip");
  return out;
}

// ContentHash is the hex SHA-256 over the sorted string entries of the object fields `fields`,
// each key prefixed by its field's initial ("d:" data, "b:" binaryData) and every key and value
// length-prefixed. ConfigMap hashes stored by earlier agents depend on this exact encoding.
std::string ContentHash(const Json& object, std::initializer_list<const char*> fields,
                        const std::string& key = "") {
  std::map<std::string, std::string> entries;  // sorts the keys
  for (const char* field : fields) {
    const Json& data = Obj(object, field);
    for (auto it = data.begin(); it != data.end(); ++it) {
      if (!it.value().is_string()) continue;
      entries[absl::StrCat(absl::string_view(field, 1), ":", it.key())] =
          it.value().get<std::string>();
    }
  }
  std::string buf;
  for (const auto& [k, v] : entries) absl::StrAppend(&buf, k.size(), ":", k, v.size(), ":", v);
  return key.empty() ? Sha256Hex(buf) : HmacSha256Hex(key, buf);
}

}  // namespace

std::string ConfigMapHash(const Json& configmap) {
  return ContentHash(configmap, {"data", "binaryData"});
}

std::string SecretHash(const Json& secret, const std::string& key) {
  return ContentHash(secret, {"data"}, key);
}

k8intel::v1::SecretMeta ToSecretMeta(const Json& secret, const std::string& key) {
  k8intel::v1::SecretMeta s;
  *s.mutable_meta() = ToMeta(Obj(secret, "metadata"));
  s.set_type(Str(secret, "type"));
  s.set_content_sha256(SecretHash(secret, key));
  const Json& data = Obj(secret, "data");
  for (auto it = data.begin(); it != data.end(); ++it) s.add_keys(it.key());
  return s;
}

absl::Status ParseCertificate(const std::string& pem, k8intel::v1::TlsSecret* out) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return absl::InternalError("BIO_new_mem_buf");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) return absl::InvalidArgumentError("tls.crt holds no PEM certificate");
  if (!SetAsn1Time(X509_get0_notAfter(cert.get()), out->mutable_not_after()) ||
      !SetAsn1Time(X509_get0_notBefore(cert.get()), out->mutable_not_before())) {
    return absl::InvalidArgumentError("certificate validity does not parse");
  }
  out->set_subject(NameToString(X509_get_subject_name(cert.get())));
  out->set_issuer(NameToString(X509_get_issuer_name(cert.get())));
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && i < 1000; ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type != GEN_DNS) continue;
      const unsigned char* data = ASN1_STRING_get0_data(n->d.dNSName);
      const int len = ASN1_STRING_length(n->d.dNSName);
      if (data != nullptr && len > 0) {
        out->add_dns_names(std::string(reinterpret_cast<const char*>(data), len));
      }
    }
    GENERAL_NAMES_free(names);
  }
  return absl::OkStatus();
}

k8intel::v1::TlsSecret ToTlsSecret(const Json& secret) {
  k8intel::v1::TlsSecret s;
  *s.mutable_meta() = ToMeta(Obj(secret, "metadata"));
  std::string pem;
  if (absl::Base64Unescape(Str(Obj(secret, "data"), "tls.crt"), &pem)) {
    // A bad certificate leaves the facts empty; the Secret is still inventoried.
    (void)ParseCertificate(pem, &s);
  }
  return s;
}

absl::StatusOr<Json> DecodeHelmPayload(const std::string& data_release) {
  std::string helm_encoded, gz;
  if (!absl::Base64Unescape(data_release, &helm_encoded) ||
      !absl::Base64Unescape(helm_encoded, &gz)) {
    return absl::InvalidArgumentError("release payload is not base64");
  }
  std::string json = gz;
  if (gz.size() >= 2 && static_cast<unsigned char>(gz[0]) == 0x1f &&
      static_cast<unsigned char>(gz[1]) == 0x8b) {
    auto plain = Gunzip(gz);
    if (!plain.ok()) return plain.status();
    json = std::move(*plain);
  }
  Json parsed = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError("release payload is not JSON");
  return parsed;
}

k8intel::v1::HelmRelease ToHelmRelease(const Json& secret) {
  k8intel::v1::HelmRelease h;
  const Json& meta = Obj(secret, "metadata");
  *h.mutable_meta() = ToMeta(meta);
  const Json& labels = Obj(meta, "labels");
  h.set_release_name(Str(labels, "name"));
  h.set_status(Str(labels, "status"));
  int32_t revision = 0;
  if (absl::SimpleAtoi(Str(labels, "version"), &revision)) h.set_revision(revision);
  auto release = DecodeHelmPayload(Str(Obj(secret, "data"), "release"));
  if (release.ok()) {
    const Json& chart_meta = Obj(Obj(*release, "chart"), "metadata");
    h.set_chart(Str(chart_meta, "name"));
    h.set_chart_version(Str(chart_meta, "version"));
    h.set_app_version(Str(chart_meta, "appVersion"));
    if (h.release_name().empty()) h.set_release_name(Str(*release, "name"));
    if (h.status().empty()) h.set_status(Str(Obj(*release, "info"), "status"));
    if (h.revision() == 0) h.set_revision(Int32(*release, "version"));
  }
  return h;
}

}  // namespace k8i::agent::kube
