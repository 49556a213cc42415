// Model files read back or imported: safetensors weights and the architecture
// file written beside them.
#include "fuzz_input.h"
#include "models/portable_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string bytes = fuzz::asText(data, size);
    try {
        std::map<std::string, std::string> metadata;
        for (const auto &t : distillery::detail::parseSafetensors(bytes, "fuzz.safetensors", &metadata))
            if (std::size_t(t.numel()) != (t.integer ? t.integers.size() : t.values.size()))
                __builtin_trap();
    } catch (const distillery::detail::ModelFileError &) {
    }
    try {
        (void)distillery::detail::parsePortableArchitecture(bytes, "fuzz.architecture.json");
    } catch (const distillery::detail::ModelFileError &) {
    }
    return 0;
}
