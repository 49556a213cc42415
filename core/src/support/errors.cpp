#include "support/errors.h"

#include <c10/util/Exception.h>

namespace distillery::detail {

std::string errorText(const std::exception &e)
{
    if (const auto *c = dynamic_cast<const c10::Error *>(&e))
        return c->what_without_backtrace();
    return e.what();
}

std::string firstLine(const std::string &s)
{
    return s.substr(0, s.find('\n'));
}

bool isOutOfMemory(const std::string &message)
{
    return message.find("not enough memory") != std::string::npos ||
           message.find("out of memory") != std::string::npos ||
           message.find("can't allocate memory") != std::string::npos;
}

} // namespace distillery::detail
