// IDX images and labels (MNIST-style), raw or gzip-compressed.
#include "fuzz_input.h"
#include "data/readers.h"

#include "distillery/data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        const auto a = distillery::detail::readIdx(fuzz::asFile(data, size));
        std::uint64_t n = 1;
        for (auto d : a.dims)
            n *= std::uint64_t(d);
        if (n != a.values.size())
            __builtin_trap(); // accepted, but the sizes disagree
    } catch (const distillery::DataError &) {
    }
    return 0;
}
