// PNG and JPEG images (the user's own image folders): the header and the
// decoder to grey and to colour, from memory.
#include "data/image_files.h"

#include "distillery/data.h"

#include <cstddef>
#include <cstdint>

namespace {

// Decoding allocates the declared size (up to 768 MiB at kMaxImagePixels):
// decode only images a fuzzing process can hold many times over, after their
// header has been checked like any other.
constexpr std::int64_t kDecodedPixels = std::int64_t(2048) * 2048;

void decode(const std::uint8_t *data, std::size_t size, const distillery::detail::ImageHeader &header, int channels)
{
    try {
        const auto image = distillery::detail::decodeImage(data, size, channels, "fuzz");
        if (image.width != header.width || image.height != header.height || image.channels != channels ||
            image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * std::size_t(channels))
            __builtin_trap();
    } catch (const distillery::DataError &) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    distillery::detail::ImageHeader header;
    try {
        header = distillery::detail::readImageHeader(data, size, "fuzz");
    } catch (const distillery::DataError &) {
        // A header refused is refused by the decoder too, before any pixels.
        try {
            distillery::detail::decodeImage(data, size, 3, "fuzz");
        } catch (const distillery::DataError &) {
            return 0;
        }
        __builtin_trap();
    }
    if (header.width < 1 || header.height < 1 || (header.channels != 1 && header.channels != 3) ||
        std::int64_t(header.width) * header.height > distillery::detail::kMaxImagePixels)
        __builtin_trap();
    if (std::int64_t(header.width) * header.height > kDecodedPixels)
        return 0;
    decode(data, size, header, 1);
    decode(data, size, header, 3);
    return 0;
}
