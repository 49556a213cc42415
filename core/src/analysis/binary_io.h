// Little-endian binary pieces shared by the analysis files (internal to
// core): values appended to a byte string and read back from a buffer.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "analysis files are written in the host's byte order, which must be little-endian"
#endif

namespace distillery::detail {

template <class T> void put(std::string &out, const T &v)
{
    out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

template <class T> void putAll(std::string &out, const std::vector<T> &v)
{
    out.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

template <class T> T get(const char *p)
{
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

} // namespace distillery::detail
