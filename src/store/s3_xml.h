// Just enough XML for S3's replies and requests: the text of simple elements, found by tag name
// (S3 documents are flat and never nest an element inside one of the same name), and escaping.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::store {

// The raw (still escaped) content of every <tag ...>...</tag> in `xml`, in document order;
// <tag/> gives "".
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
// The unescaped text of the first <tag>, or "" when there is none.
std::string XmlText(std::string_view xml, std::string_view tag);
// &amp; &lt; &gt; &quot; &apos; and numeric references decoded.
std::string XmlUnescape(std::string_view s);
std::string XmlEscape(std::string_view s);

}  // namespace lifeboat::store
