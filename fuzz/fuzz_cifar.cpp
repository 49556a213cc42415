// CIFAR-10 binary batches.
#include "fuzz_input.h"
#include "data/readers.h"

#include "distillery/data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        const auto b = distillery::detail::readCifarBatches({fuzz::asFile(data, size)});
        if (b.pixels.size() != std::size_t(b.count) * 3 * 32 * 32 || b.labels.size() != std::size_t(b.count))
            __builtin_trap();
    } catch (const distillery::DataError &) {
    }
    return 0;
}
