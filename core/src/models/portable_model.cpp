#include "models/portable_model.h"

#include "runs/atomic_file.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace distillery::detail {

using nlohmann::json;

std::int64_t NamedTensor::numel() const
{
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

const NamedTensor &PortableModel::at(const std::string &name) const
{
    for (const auto &t : tensors)
        if (t.name == name)
            return t;
    throw ModelFileError("the model has no tensor named " + name);
}

bool PortableModel::has(const std::string &name) const
{
    for (const auto &t : tensors)
        if (t.name == name)
            return true;
    return false;
}

namespace {

bool littleEndian()
{
    const std::uint16_t one = 1;
    unsigned char first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

template <typename T> void appendRaw(std::string &out, const std::vector<T> &v)
{
    out.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

} // namespace

void writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors,
                      const std::map<std::string, std::string> &metadata)
{
    if (!littleEndian())
        throw ModelFileError(path + ": safetensors are little-endian; this machine is not");
    json header = json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::string data;
    for (const auto &t : tensors) {
        if (t.numel() != std::int64_t(t.integer ? t.integers.size() : t.values.size()))
            throw ModelFileError(path + ": tensor " + t.name + " has " +
                                 std::to_string(t.integer ? t.integers.size() : t.values.size()) +
                                 " values for its shape");
        const std::size_t begin = data.size();
        if (t.integer)
            appendRaw(data, t.integers);
        else
            appendRaw(data, t.values);
        header[t.name] = {{"dtype", t.integer ? "I64" : "F32"},
                          {"shape", t.shape},
                          {"data_offsets", {begin, data.size()}}};
    }
    std::string text = header.dump();
    // Pad the header with spaces so that the data start 8-byte aligned.
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string file(8, '\0');
    const std::uint64_t n = text.size();
    std::memcpy(file.data(), &n, 8);
    file += text;
    file += data;
    try {
        writeFileAtomically(path, file);
    } catch (const std::runtime_error &e) {
        throw ModelFileError(e.what());
    }
}

std::vector<NamedTensor> parseSafetensors(const std::string &bytes, const std::string &origin,
                                          std::map<std::string, std::string> *metadata)
{
    auto fail = [&](const std::string &msg) -> ModelFileError { return ModelFileError(origin + ": " + msg); };
    if (!littleEndian())
        throw fail("safetensors are little-endian; this machine is not");
    if (bytes.size() < 8)
        throw fail("not a safetensors file (shorter than its 8-byte header length)");
    std::uint64_t headerSize = 0;
    std::memcpy(&headerSize, bytes.data(), 8);
    if (headerSize > bytes.size() - 8)
        throw fail("not a safetensors file (its header claims " + std::to_string(headerSize) + " bytes; the file has " +
                   std::to_string(bytes.size()) + ")");
    const std::size_t dataStart = 8 + std::size_t(headerSize);
    const std::size_t dataSize = bytes.size() - dataStart;
    json header = json::parse(bytes.begin() + 8, bytes.begin() + std::ptrdiff_t(dataStart), nullptr, false);
    if (header.is_discarded() || !header.is_object())
        throw fail("not a safetensors file (the header is not a JSON object)");
    std::vector<NamedTensor> out;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const json &v = it.value();
        if (it.key() == "__metadata__") {
            if (!v.is_object())
                throw fail("__metadata__ must be an object of strings");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    throw fail("__metadata__." + m.key() + " must be a string");
                if (metadata)
                    (*metadata)[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor " + it.key() + ": ";
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
            !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() ||
            v["data_offsets"].size() != 2)
            throw fail(where + "needs dtype, shape and data_offsets [begin, end]");
        NamedTensor t;
        t.name = it.key();
        const std::string dtype = v["dtype"].get<std::string>();
        if (dtype != "F32" && dtype != "I64")
            throw fail(where + "dtype " + dtype + " is not supported (F32 and I64 are)");
        t.integer = dtype == "I64";
        std::uint64_t count = 1;
        for (const auto &d : v["shape"]) {
            if (!d.is_number_unsigned())
                throw fail(where + "shape must hold whole numbers >= 0");
            const auto dim = d.get<std::uint64_t>();
            if (dim != 0 && count > std::numeric_limits<std::uint64_t>::max() / dim)
                throw fail(where + "shape overflows");
            count *= dim;
            t.shape.push_back(std::int64_t(dim));
        }
        const auto &offsets = v["data_offsets"];
        if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
            throw fail(where + "data_offsets must be whole numbers >= 0");
        const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
        const std::uint64_t elementSize = t.integer ? 8 : 4;
        if (begin > end || end > dataSize)
            throw fail(where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       "] lie outside the " + std::to_string(dataSize) + " bytes of data");
        if (count > (end - begin) / elementSize || (end - begin) != count * elementSize)
            throw fail(where + "shape needs " + std::to_string(count) + " values but data_offsets hold " +
                       std::to_string(end - begin) + " bytes");
        const char *src = bytes.data() + dataStart + begin;
        if (t.integer) {
            t.integers.resize(count);
            std::memcpy(t.integers.data(), src, end - begin);
        } else {
            t.values.resize(count);
            std::memcpy(t.values.data(), src, end - begin);
        }
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<NamedTensor> readSafetensors(const std::string &path, std::map<std::string, std::string> *metadata)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ModelFileError(path + ": cannot open");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw ModelFileError(path + ": cannot read");
    return parseSafetensors(bytes, path, metadata);
}

std::string portableArchitectureJson(const PortableModel &m)
{
    json j{{"format", "distillery-architecture"},
           {"version", 1},
           {"input_shape", m.input},
           {"classes", m.classes},
           {"class_names", m.classNames},
           {"normalisation",
            {{"mean", m.mean},
             {"std", m.stdev},
             {"note", "the weights expect (x - mean) / std, per channel (images) or feature (vectors), of "
                      "raw inputs as Distillery reads them (image pixels scaled to [0, 1])"}}},
           {"layers", json::parse(architectureToJson(m.layers))}};
    return j.dump(2) + "\n";
}

PortableModel parsePortableArchitecture(const std::string &text, const std::string &origin)
{
    auto fail = [&](const std::string &msg) -> ModelFileError { return ModelFileError(origin + ": " + msg); };
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw fail("not a JSON object");
    if (!j.contains("format") || j["format"] != "distillery-architecture")
        throw fail("format: expected \"distillery-architecture\"");
    PortableModel m;
    try {
        m.input = j.at("input_shape").get<Shape>();
        m.classes = j.at("classes").get<int>();
        if (j.contains("class_names"))
            m.classNames = j.at("class_names").get<std::vector<std::string>>();
        m.mean = j.at("normalisation").at("mean").get<std::vector<double>>();
        m.stdev = j.at("normalisation").at("std").get<std::vector<double>>();
    } catch (const json::exception &e) {
        throw fail(std::string("missing or wrong field (") + e.what() + ")");
    }
    if (!j.contains("layers"))
        throw fail("layers: missing");
    try {
        m.layers = parseArchitecture(j["layers"].dump(), origin);
    } catch (const ConfigError &e) {
        throw ModelFileError(e.what());
    }
    const auto report = analyseArchitecture(m.layers, m.input, m.classes);
    if (!report.ok)
        throw fail(report.error);
    const std::size_t channels = m.input.empty() ? 0 : std::size_t(m.input[0]);
    if (m.mean.size() != channels || m.stdev.size() != channels)
        throw fail("normalisation: mean and std need " + std::to_string(channels) + " values each");
    return m;
}

} // namespace distillery::detail
