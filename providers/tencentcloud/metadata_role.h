#pragma once

// Temporary credentials of the CVM (or TKE node) role, from the instance metadata service,
// as the official SDKs' CVM role provider reads them:
//   GET <base>cam/security-credentials/        -> the role's name (plain text; 404: no role)
//   GET <base>cam/security-credentials/<role>  -> {"TmpSecretId","TmpSecretKey","Token",
//                                                  "ExpiredTime" (UNIX seconds),"Code":"Success"}
// <base> is kMetadataUrl, or TENCENTCLOUD_METADATA_ENDPOINT (tests and the emulator).

#include <string>

#include "base/status.h"
#include "providers/tencentcloud/credentials.h"
#include "providers/tencentcloud/transport.h"

namespace reconciler::tencentcloud {

inline constexpr const char* kMetadataUrl = "http://metadata.tencentyun.com/latest/meta-data/";

// How long before they expire role credentials are renewed (the SDKs use 300 s too), so a
// request signed just before the deadline still arrives in time.
inline constexpr int64_t kRenewBeforeSeconds = 300;

// The name of the role bound to this machine. kNotFound when the metadata service is not
// there (not a CVM) or answers that no role is bound; other failures say what went wrong.
Result<std::string> FetchRoleName(HttpTransport& transport, const std::string& base_url);

// Fresh credentials of `role`, with expires_at and a source naming the role. kAuth when the
// service refuses (its Code is not Success), kInvalidInput when the answer is malformed.
// Never puts a key or token in a message.
Result<Credentials> FetchRoleCredentials(HttpTransport& transport, const std::string& base_url,
                                         const std::string& role);

// A renewer (CloudConfig::renew) that fetches `role`'s credentials again from `base_url`.
CredentialRenewer RoleRenewer(std::string base_url, std::string role);

}  // namespace reconciler::tencentcloud
