#include "data/readers.h"

#include "distillery/data.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

namespace distillery::detail {
namespace {

[[noreturn]] void fail(const std::string &path, const std::string &what)
{
    throw DataError(path + ": " + what);
}

bool isGzip(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    unsigned char m[2] = {0, 0};
    f.read(reinterpret_cast<char *>(m), 2);
    return f.gcount() == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

std::uint32_t bigEndian32(const std::uint8_t *p)
{
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

} // namespace

std::vector<std::uint8_t> readFileBytes(const std::string &path, std::uint64_t limit)
{
    std::vector<std::uint8_t> out;
    if (isGzip(path)) {
        gzFile gz = gzopen(path.c_str(), "rb");
        if (!gz)
            fail(path, std::string("cannot open: ") + std::strerror(errno));
        // Grow with the data that really arrives: a header that claims a huge
        // size cannot make us allocate more than the file holds.
        std::vector<std::uint8_t> chunk(1 << 20);
        for (;;) {
            int n = gzread(gz, chunk.data(), unsigned(chunk.size()));
            if (n < 0) {
                int code = 0;
                std::string msg = gzerror(gz, &code);
                gzclose(gz);
                fail(path, "corrupt gzip data (" + msg + ")");
            }
            if (n == 0)
                break;
            out.insert(out.end(), chunk.begin(), chunk.begin() + n);
            if (out.size() > limit) {
                gzclose(gz);
                fail(path, "larger than expected (more than " + std::to_string(limit) + " bytes)");
            }
        }
        gzclose(gz);
        return out;
    }
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f)
        fail(path, std::string("cannot open: ") + std::strerror(errno));
    const auto size = std::uint64_t(f.tellg());
    if (size > limit)
        fail(path, "larger than expected (" + std::to_string(size) + " bytes)");
    out.resize(size);
    f.seekg(0);
    f.read(reinterpret_cast<char *>(out.data()), std::streamsize(size));
    if (std::uint64_t(f.gcount()) != size)
        fail(path, "read error");
    return out;
}

IdxArray readIdx(const std::string &path)
{
    // 16 GiB is far above any IDX data set; the real check is against the content.
    auto bytes = readFileBytes(path, std::uint64_t(16) << 30);
    if (bytes.size() < 4)
        fail(path, "not an IDX file (too short for a header)");
    if (bytes[0] != 0 || bytes[1] != 0)
        fail(path, "not an IDX file (wrong magic number)");
    if (bytes[2] != 0x08)
        fail(path, "unsupported IDX element type 0x" + [&] {
            std::ostringstream s;
            s << std::hex << int(bytes[2]);
            return s.str();
        }() + " (only unsigned bytes, 0x08, are supported)");
    const int rank = bytes[3];
    if (rank < 1 || rank > 4)
        fail(path, "IDX rank " + std::to_string(rank) + " is not supported (1 to 4)");
    const std::size_t header = 4 + 4 * std::size_t(rank);
    if (bytes.size() < header)
        fail(path, "truncated IDX header");
    IdxArray a;
    std::uint64_t total = 1;
    for (int i = 0; i < rank; ++i) {
        const std::uint32_t d = bigEndian32(&bytes[4 + 4 * i]);
        a.dims.push_back(d);
        // Sizes from the header are only compared with the file, never allocated;
        // guard the product against overflow.
        if (d != 0 && total > (std::uint64_t(1) << 62) / d)
            fail(path, "header claims an impossible size");
        total *= d;
    }
    const std::uint64_t have = bytes.size() - header;
    if (total > have)
        fail(path, "truncated: header claims " + std::to_string(total) + " values, file holds " +
                       std::to_string(have));
    if (total < have)
        fail(path, "has " + std::to_string(have - total) + " bytes after the data the header describes");
    a.values.assign(bytes.begin() + std::ptrdiff_t(header), bytes.end());
    return a;
}

ByteImages readCifarBatches(const std::vector<std::string> &paths, CifarLayout layout)
{
    // CIFAR-10: <label> <3072 pixels>; CIFAR-100: <coarse label> <fine label> <3072 pixels>.
    const bool hundred = layout != CifarLayout::Cifar10;
    const std::size_t labelBytes = hundred ? 2 : 1;
    const std::size_t record = labelBytes + 3 * 32 * 32;
    const std::size_t which = layout == CifarLayout::Cifar100Fine ? 1 : 0;
    const std::string name = hundred ? "CIFAR-100" : "CIFAR-10";
    // Each label byte's name and number of classes.
    const std::pair<const char *, int> labelKinds[2] = {{hundred ? "coarse label" : "label", hundred ? 20 : 10},
                                                        {"fine label", 100}};
    ByteImages out;
    out.channels = 3;
    out.height = out.width = 32;
    for (const auto &path : paths) {
        auto bytes = readFileBytes(path, std::uint64_t(1) << 32);
        if (bytes.empty() || bytes.size() % record != 0)
            fail(path, "not a " + name + " binary file (size " + std::to_string(bytes.size()) +
                           " is not a multiple of its record size, " + std::to_string(record) + ")");
        const std::size_t n = bytes.size() / record;
        out.pixels.reserve(out.pixels.size() + n * (record - labelBytes));
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t *r = &bytes[i * record];
            for (std::size_t k = 0; k < labelBytes; ++k)
                if (r[k] >= labelKinds[k].second)
                    fail(path, "record " + std::to_string(i) + " has " + labelKinds[k].first + " " +
                                   std::to_string(r[k]) + " (" + name + " " + labelKinds[k].first + "s are 0 to " +
                                   std::to_string(labelKinds[k].second - 1) + ")");
            out.labels.push_back(r[which]);
            out.pixels.insert(out.pixels.end(), r + labelBytes, r + record);
        }
        out.count += std::int64_t(n);
    }
    return out;
}

namespace {

std::vector<std::string> splitCsvLine(const std::string &line)
{
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                cell += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                cell += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            cells.push_back(cell);
            cell.clear();
        } else if (c != '\r') {
            cell += c;
        }
    }
    cells.push_back(cell);
    for (auto &c : cells) {
        const auto b = c.find_first_not_of(" \t");
        const auto e = c.find_last_not_of(" \t");
        c = b == std::string::npos ? std::string() : c.substr(b, e - b + 1);
    }
    return cells;
}

bool parseFloat(const std::string &s, float &out)
{
    if (s.empty())
        return false;
    char *end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || errno == ERANGE || !(v == v) || v > std::numeric_limits<float>::max() ||
        v < -std::numeric_limits<float>::max())
        return false;
    out = float(v);
    return true;
}

// The label column's index in `header`: the column of that name, else a
// 0-based index given as digits.
int labelColumnIndex(const std::string &path, const std::vector<std::string> &header, const std::string &labelColumn)
{
    int labelIndex = -1;
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == labelColumn)
            labelIndex = int(i);
    if (labelIndex < 0 && !labelColumn.empty() &&
        std::all_of(labelColumn.begin(), labelColumn.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        // Compared as text first: digits past int's range are past the last column too.
        const std::string digits = labelColumn.substr(std::min(labelColumn.find_first_not_of('0'), labelColumn.size() - 1));
        const std::string columns = std::to_string(header.size());
        const bool past = digits.size() > columns.size() || (digits.size() == columns.size() && digits >= columns);
        labelIndex = past ? int(header.size()) : std::stoi(digits);
        if (labelIndex >= int(header.size()))
            fail(path, "label column " + labelColumn + " is past the last column (" +
                           std::to_string(header.size()) + " columns)");
    }
    if (labelIndex < 0)
        fail(path, "no column named '" + labelColumn + "' (data.label_column)");
    return labelIndex;
}

// The data rows after the header: features into `t`, labels as written into `rawLabels`.
void readCsvRows(std::istream &f, const std::string &path, const std::vector<std::string> &header, int labelIndex,
                 CsvTable &t, std::vector<std::string> &rawLabels)
{
    std::string line;
    std::int64_t lineNo = 1;
    std::vector<float> row(std::size_t(t.features));
    while (std::getline(f, line)) {
        ++lineNo;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        const auto cells = splitCsvLine(line);
        if (cells.size() != header.size())
            fail(path, "line " + std::to_string(lineNo) + " has " + std::to_string(cells.size()) +
                           " columns, the header has " + std::to_string(header.size()));
        int k = 0;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (int(i) == labelIndex)
                continue;
            if (!parseFloat(cells[i], row[std::size_t(k)]))
                fail(path, "line " + std::to_string(lineNo) + ", column '" + header[i] + "': '" + cells[i] +
                               "' is not a finite number");
            ++k;
        }
        t.values.insert(t.values.end(), row.begin(), row.end());
        rawLabels.push_back(cells[std::size_t(labelIndex)]);
        ++t.rows;
    }
}

// Labels: all integers 0..K-1 are used as they are; anything else is a class
// name, numbered in sorted order (or by `knownClasses`).
std::vector<std::string> classNamesOf(const std::vector<std::string> &rawLabels,
                                      const std::vector<std::string> &knownClasses)
{
    if (!knownClasses.empty())
        return knownClasses;
    std::vector<std::string> names;
    bool allInts = true;
    long maxInt = -1;
    for (const auto &l : rawLabels) {
        char *end = nullptr;
        const long v = std::strtol(l.c_str(), &end, 10);
        if (l.empty() || *end || v < 0 || v > 100000) {
            allInts = false;
            break;
        }
        maxInt = std::max(maxInt, v);
    }
    if (allInts) {
        for (long i = 0; i <= maxInt; ++i)
            names.push_back(std::to_string(i));
    } else {
        names = rawLabels;
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
    }
    return names;
}

} // namespace

CsvTable readCsv(const std::string &path, const std::string &labelColumn,
                 const std::vector<std::string> &knownClasses)
{
    std::ifstream f(path);
    if (!f)
        fail(path, std::string("cannot open: ") + std::strerror(errno));
    std::string line;
    if (!std::getline(f, line))
        fail(path, "empty file (a header row is needed)");
    const auto header = splitCsvLine(line);
    const int labelIndex = labelColumnIndex(path, header, labelColumn);
    if (header.size() < 2)
        fail(path, "needs at least one feature column besides the label");

    CsvTable t;
    t.features = int(header.size()) - 1;
    std::vector<std::string> rawLabels;
    readCsvRows(f, path, header, labelIndex, t, rawLabels);
    if (t.rows == 0)
        fail(path, "no data rows");

    t.classNames = classNamesOf(rawLabels, knownClasses);
    std::map<std::string, std::int64_t> index;
    for (std::size_t i = 0; i < t.classNames.size(); ++i)
        index[t.classNames[i]] = std::int64_t(i);
    for (std::size_t i = 0; i < rawLabels.size(); ++i) {
        auto it = index.find(rawLabels[i]);
        if (it == index.end())
            fail(path, "row " + std::to_string(i + 1) + ": label '" + rawLabels[i] +
                           "' is not one of the training classes");
        t.labels.push_back(it->second);
    }
    if (t.classNames.size() < 2)
        fail(path, "needs at least two classes in column '" + header[std::size_t(labelIndex)] + "'");
    return t;
}

} // namespace distillery::detail
