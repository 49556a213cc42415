// Single PNG and JPEG images in memory: sniffing, headers, decoding to grey or
// colour bytes, resizing, and writing them (for tests and exports). No LibTorch
// and no Qt: the fuzz targets link this alone. Every failure is a DataError
// that starts with the image's origin (its file, usually).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace distillery::detail {

struct Image {
    int width = 0, height = 0, channels = 0;   // channels: 1 (grey) or 3 (RGB)
    std::vector<std::uint8_t> pixels;           // height x width x channels, rows top to bottom
};

struct ImageHeader {
    int width = 0, height = 0;
    int channels = 0;   // 1: grey (with or without alpha); 3: colour (with or without alpha)
};

// The largest image read: a header that declares more is refused before any
// pixel memory is allocated (16384 x 16384 x 3 bytes is 768 MiB).
constexpr std::int64_t kMaxImagePixels = std::int64_t(16384) * 16384;

enum class ImageFormat { Unknown, Png, Jpeg };

// The format from the file's signature, whatever its name says.
ImageFormat sniffImageFormat(const std::uint8_t *data, std::size_t size);

// Size and colour of an image from its header, without decoding the pixels.
// Throws DataError "<origin>: ..." for anything but a PNG or JPEG whose header
// declares a size from 1 x 1 to kMaxImagePixels.
ImageHeader readImageHeader(const std::uint8_t *data, std::size_t size, const std::string &origin);

// Decodes to `channels` (1 or 3) bytes per pixel, converting grey to colour and
// colour to grey as needed; an alpha channel is composed onto black. Throws
// DataError "<origin>: ..." for a file that is not a PNG or JPEG, is corrupt or
// truncated, or declares a size of zero or over kMaxImagePixels.
Image decodeImage(const std::uint8_t *data, std::size_t size, int channels, const std::string &origin);

// The image scaled to width x height (stb_image_resize's default filters).
Image resizeImage(const Image &image, int width, int height);

// Write an image (1 or 3 channels) as PNG, or as JPEG at `quality` (1 to 100,
// colour without chroma subsampling). Throw DataError naming the path.
void writePng(const std::string &path, const Image &image);
void writeJpeg(const std::string &path, const Image &image, int quality);

} // namespace distillery::detail
