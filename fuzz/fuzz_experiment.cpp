// Experiment files, with an override applied as the runner's --set would.
#include "fuzz_input.h"

#include "distillery/experiment.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string text = fuzz::asText(data, size);
    try {
        const auto e = distillery::parseExperiment(text, "fuzz.json");
        // What parses must write out and read back the same.
        const auto again = distillery::parseExperiment(distillery::experimentToJson(e), "again.json");
        if (distillery::experimentToJson(again) != distillery::experimentToJson(e))
            __builtin_trap();
    } catch (const distillery::ConfigError &) {
    }
    try {
        (void)distillery::parseExperiment("{}", "fuzz.json", {text});
    } catch (const distillery::ConfigError &) {
    }
    return 0;
}
