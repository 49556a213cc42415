// distillery-check: reads one model file with LibTorch's reader, for the
// engine (distillery/modelfiles.h), so that a file that crashes the reader
// ends this process instead of the application. Not meant to be run by hand:
// what it prints and its exit status are for the engine.
#include "distillery/modelfiles.h"

#include <CLI/CLI.hpp>

#include <map>

int main(int argc, char **argv)
{
    CLI::App app{"Reads one model file with LibTorch's reader, for Distillery's engine, in a process of its own."};
    distillery::ModelFileKind kind = distillery::ModelFileKind::Checkpoint;
    std::string path;
    const std::map<std::string, distillery::ModelFileKind> kinds{{"checkpoint", distillery::ModelFileKind::Checkpoint},
                                                                 {"torchscript", distillery::ModelFileKind::TorchScript}};
    app.add_option("kind", kind, "checkpoint or torchscript")->required()->transform(CLI::CheckedTransformer(kinds));
    app.add_option("file", path, "The model file")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    return distillery::runModelFileCheck(kind, path);
}
