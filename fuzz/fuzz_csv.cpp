// CSV tables: header, numeric features, a label column by name or index.
#include "fuzz_input.h"
#include "data/readers.h"

#include "distillery/data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string path = fuzz::asFile(data, size, ".csv");
    for (const char *label : {"label", "0"}) {
        try {
            const auto t = distillery::detail::readCsv(path, label);
            if (t.values.size() != std::size_t(t.rows) * std::size_t(t.features) || t.labels.size() != std::size_t(t.rows))
                __builtin_trap();
            for (auto l : t.labels)
                if (l < 0 || std::size_t(l) >= t.classNames.size())
                    __builtin_trap();
        } catch (const distillery::DataError &) {
        }
    }
    return 0;
}
