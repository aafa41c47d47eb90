// Decoding of URL query strings and application/x-www-form-urlencoded bodies (WHATWG URL
// Standard, "application/x-www-form-urlencoded parsing").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace k8i {

// PercentDecode decodes %XX escapes and '+' (a space) in a query value or form field;
// nullopt when an escape is malformed.
std::optional<std::string> PercentDecode(std::string_view s);

// ParseForm splits "a=1&b=x+y" into decoded fields (the last of a repeated name wins; a name
// without '=' has the value ""); nullopt when an escape is malformed.
std::optional<std::map<std::string, std::string>> ParseForm(std::string_view body);

}  // namespace k8i
