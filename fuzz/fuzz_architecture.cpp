// Architecture layer lists, and their analysis on image and vector inputs.
#include "fuzz_input.h"

#include "distillery/architecture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        const auto layers = distillery::parseArchitecture(fuzz::asText(data, size), "fuzz.json");
        for (const distillery::Shape &input : {distillery::Shape{1, 28, 28}, distillery::Shape{3, 32, 32},
                                               distillery::Shape{16}}) {
            const auto r = distillery::analyseArchitecture(layers, input, 10);
            if (r.ok && (r.parameters < 0 || r.multiplyAdds < 0))
                __builtin_trap();
        }
    } catch (const distillery::ConfigError &) {
    }
    return 0;
}
