// Model files from disk: Distillery checkpoints (resuming, reusing a teacher,
// exporting) and TorchScript teachers imported from PyTorch. Both go through
// LibTorch's own readers; what must hold is that any file ends in a clear
// error, never a crash.
#include "fuzz_input.h"
#include "models/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    namespace dd = distillery::detail;
    using distillery::Architecture;
    using distillery::LayerSpec;
    const std::string path = fuzz::asFile(data, size, ".pt");
    static const Architecture layers = [] {
        LayerSpec conv{"conv2d", 4}, bn{"batchnorm"}, flat{"flatten"}, fc{"linear", 3};
        return Architecture{conv, bn, flat, fc};
    }();
    try {
        dd::Net net(layers, distillery::Shape{1, 6, 6});
        dd::loadCheckpoint(net, path, torch::kCPU);
    } catch (const dd::ModelFileError &) {
    }
    try {
        auto script = dd::loadScript(path, torch::kCPU);
        c10::InferenceMode guard;
        (void)script.module.forward({torch::zeros({2, 1, 6, 6})});
    } catch (const dd::ModelFileError &) {
    } catch (const std::exception &) {
        // A module that loads and checks out may still fail on this input (the
        // interpreter throws c10::Error or std::runtime_error): the engine turns
        // that into a message naming the file (tests/python/test_interop.py).
    }
    return 0;
}
